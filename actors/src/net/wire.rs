//! Reading and writing single frames on quinn streams: the thin async side of the framing.

use protocol::{DecodeError, Envelope, FrameReader, decode_payload, encode_frame};
use quinn::{RecvStream, SendStream};

/// Largest chunk taken from a stream at once.
const CHUNK: usize = 64 * 1024;

/// Why no envelope could be read from a stream.
#[derive(Debug)]
pub(crate) enum ReadFailure {
    /// The bytes were bad: answer with an error.
    Decode(DecodeError),
    /// The stream itself failed: nobody to answer.
    Stream(String),
}

/// Reads one frame from `recv` and decodes it. Bytes after the frame are ignored.
pub(crate) async fn read_envelope(
    recv: &mut RecvStream,
    max_frame: usize,
) -> Result<Envelope, ReadFailure> {
    let mut reader = FrameReader::new(max_frame);
    loop {
        if let Some(payload) = reader.pop_frame().map_err(ReadFailure::Decode)? {
            return decode_payload(&payload).map_err(ReadFailure::Decode);
        }
        match recv.read_chunk(CHUNK, true).await {
            Ok(Some(chunk)) => reader.push(&chunk.bytes),
            Ok(None) => {
                reader.finish().map_err(ReadFailure::Decode)?;
                return Err(ReadFailure::Decode(DecodeError::Truncated));
            }
            Err(e) => return Err(ReadFailure::Stream(e.to_string())),
        }
    }
}

/// Encodes `env` as one frame, writes it and finishes the stream.
pub(crate) async fn write_envelope(
    send: &mut SendStream,
    env: &Envelope,
    max_frame: usize,
) -> Result<(), crate::net::NetError> {
    let bytes = encode_frame(env, max_frame)?;
    write_bytes(send, &bytes).await
}

/// Writes raw bytes and finishes the stream.
pub(crate) async fn write_bytes(
    send: &mut SendStream,
    bytes: &[u8],
) -> Result<(), crate::net::NetError> {
    send.write_all(bytes)
        .await
        .map_err(|e| crate::net::NetError::Stream(e.to_string()))?;
    send.finish()
        .map_err(|e| crate::net::NetError::Stream(e.to_string()))
}
