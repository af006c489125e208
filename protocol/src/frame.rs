//! Framing: a `u32` big-endian length prefix followed by a MessagePack-encoded [`Envelope`].
//!
//! Everything here works on byte slices; the async side feeds bytes into a [`FrameReader`] and
//! takes whole frames out, so all parsing decisions are made (and tested) without IO.

use crate::envelope::{Envelope, SUPPORTED_VERSIONS};
use serde::Deserialize;
use thiserror::Error;

/// Default hard limit on one frame's payload: 16 MiB.
pub const DEFAULT_MAX_FRAME: usize = 16 * 1024 * 1024;

/// Bytes in the length prefix.
pub const PREFIX_LEN: usize = 4;

/// Why bytes could not be turned into an envelope.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The length prefix announces more than the limit.
    #[error("frame of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// Announced payload length.
        len: usize,
        /// The receiver's limit.
        max: usize,
    },
    /// The payload is not a valid envelope.
    #[error("malformed frame: {0}")]
    Malformed(String),
    /// The envelope is well formed but its version is not spoken here.
    #[error("unsupported protocol version {got}, supported {supported:?}")]
    UnsupportedVersion {
        /// Version found in the envelope.
        got: u16,
        /// Versions this build accepts.
        supported: Vec<u16>,
    },
    /// The input ended in the middle of a frame.
    #[error("input ended in the middle of a frame")]
    Truncated,
}

/// Why an envelope could not be turned into bytes.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EncodeError {
    /// The encoded envelope exceeds the limit.
    #[error("encoded envelope of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// Encoded payload length.
        len: usize,
        /// The sender's limit.
        max: usize,
    },
    /// Serialization failed.
    #[error("cannot encode envelope: {0}")]
    Serialize(String),
}

/// Encodes `env` as one frame (prefix + payload), refusing payloads over `max`.
pub fn encode_frame(env: &Envelope, max: usize) -> Result<Vec<u8>, EncodeError> {
    let mut out = vec![0u8; PREFIX_LEN];
    rmp_serde::encode::write_named(&mut out, env)
        .map_err(|e| EncodeError::Serialize(e.to_string()))?;
    let len = out.len() - PREFIX_LEN;
    if len > max {
        return Err(EncodeError::TooLarge { len, max });
    }
    // `len <= max`; a limit beyond u32 is refused here rather than silently wrapping.
    let prefix = u32::try_from(len).map_err(|_| EncodeError::TooLarge {
        len,
        max: u32::MAX as usize,
    })?;
    out[..PREFIX_LEN].copy_from_slice(&prefix.to_be_bytes());
    Ok(out)
}

/// Decodes one payload (without its prefix) into an envelope, checking the version.
pub fn decode_payload(payload: &[u8]) -> Result<Envelope, DecodeError> {
    match rmp_serde::from_slice::<Envelope>(payload) {
        Ok(env) => {
            check_version(env.version)?;
            Ok(env)
        }
        Err(e) => {
            // A newer peer may send bodies this build cannot parse; report the version mismatch
            // rather than a generic parse failure when the version field alone is readable.
            if let Ok(probe) = rmp_serde::from_slice::<VersionProbe>(payload) {
                check_version(probe.version)?;
            }
            Err(DecodeError::Malformed(e.to_string()))
        }
    }
}

/// Decodes exactly one frame (prefix + payload) from `bytes`; trailing bytes are malformed.
pub fn decode_frame(bytes: &[u8], max: usize) -> Result<Envelope, DecodeError> {
    let mut reader = FrameReader::new(max);
    reader.push(bytes);
    let frame = reader.pop_frame()?.ok_or(DecodeError::Truncated)?;
    if reader.buffered() > 0 {
        return Err(DecodeError::Malformed(format!(
            "{} trailing bytes after the frame",
            reader.buffered()
        )));
    }
    decode_payload(&frame)
}

fn check_version(got: u16) -> Result<(), DecodeError> {
    if SUPPORTED_VERSIONS.contains(&got) {
        Ok(())
    } else {
        Err(DecodeError::UnsupportedVersion {
            got,
            supported: SUPPORTED_VERSIONS.to_vec(),
        })
    }
}

/// Reads only the version out of an encoded envelope (unknown fields are ignored).
#[derive(Deserialize)]
struct VersionProbe {
    version: u16,
}

/// Incremental frame splitter: push bytes as they arrive, pop complete payloads.
///
/// An oversized length prefix is reported as soon as the prefix is complete, so the caller never
/// buffers the body of a frame it will refuse.
#[derive(Debug)]
pub struct FrameReader {
    buf: Vec<u8>,
    max: usize,
}

impl FrameReader {
    /// A reader that refuses payloads longer than `max` bytes.
    pub fn new(max: usize) -> Self {
        Self {
            buf: Vec::new(),
            max,
        }
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes buffered and not yet popped.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The payload length announced by the buffered prefix, once the prefix is complete.
    ///
    /// Errors with [`DecodeError::TooLarge`] when it exceeds the limit.
    pub fn announced_len(&self) -> Result<Option<usize>, DecodeError> {
        let Some(prefix) = self.buf.first_chunk::<PREFIX_LEN>() else {
            return Ok(None);
        };
        let len = u32::from_be_bytes(*prefix) as usize;
        if len > self.max {
            return Err(DecodeError::TooLarge { len, max: self.max });
        }
        Ok(Some(len))
    }

    /// Removes and returns the next complete payload, or `None` if more bytes are needed.
    pub fn pop_frame(&mut self) -> Result<Option<Vec<u8>>, DecodeError> {
        let Some(len) = self.announced_len()? else {
            return Ok(None);
        };
        if self.buf.len() < PREFIX_LEN + len {
            return Ok(None);
        }
        let payload = self.buf[PREFIX_LEN..PREFIX_LEN + len].to_vec();
        self.buf.drain(..PREFIX_LEN + len);
        Ok(Some(payload))
    }

    /// Removes and decodes the next complete envelope, or `None` if more bytes are needed.
    pub fn pop_envelope(&mut self) -> Result<Option<Envelope>, DecodeError> {
        self.pop_frame()?.map(|p| decode_payload(&p)).transpose()
    }

    /// Call when the input has ended: errors with [`DecodeError::Truncated`] if a partial frame
    /// is still buffered.
    pub fn finish(&self) -> Result<(), DecodeError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::Truncated)
        }
    }
}
