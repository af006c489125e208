//! Feeds arbitrary bytes to the frame decoder, whole and split at every tenth byte.
//! Run with `cargo +nightly fuzz run decode_frame` from `protocol/`.
#![no_main]

use factory_protocol::{FrameReader, decode_frame, decode_payload};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = decode_frame(data, 1 << 16);
    let _ = decode_payload(data);
    let mut reader = FrameReader::new(1 << 16);
    for chunk in data.chunks(10) {
        reader.push(chunk);
        while let Ok(Some(_)) = reader.pop_envelope() {}
    }
    let _ = reader.finish();
});
