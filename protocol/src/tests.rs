//! Decoder tables and property tests for the framing.

use crate::*;
use proptest::prelude::*;
use std::collections::BTreeMap;
use uuid::Uuid;

fn ping() -> Envelope {
    Envelope::request(
        "a/b",
        10,
        Body::Ping {
            payload: vec![1, 2],
        },
    )
}

fn with_version(version: u16) -> Envelope {
    Envelope { version, ..ping() }
}

fn frame_of(payload: &[u8]) -> Vec<u8> {
    let mut out = (payload.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(payload);
    out
}

/// Decodes `input` as exactly one frame under a 256-byte limit and compares the outcome's kind.
fn check(input: &[u8], expected: Result<(), DecodeError>) {
    let got = decode_frame(input, 256).map(|_| ());
    match (&got, &expected) {
        (Err(DecodeError::Malformed(_)), Err(DecodeError::Malformed(_))) => {}
        _ => assert_eq!(got, expected, "input {input:?}"),
    }
}

#[test]
fn decode_table() {
    let good = encode_frame(&ping(), 256).expect("small envelope encodes");
    check(&good, Ok(()));
    check(&[], Err(DecodeError::Truncated));
    check(&[0, 0], Err(DecodeError::Truncated));
    check(&good[..good.len() - 1], Err(DecodeError::Truncated));
    check(
        &[0, 0, 1, 1],
        Err(DecodeError::TooLarge { len: 257, max: 256 }),
    );
    check(
        &frame_of(&[0xc1]),
        Err(DecodeError::Malformed(String::new())),
    );
    check(
        &frame_of(b"hello"),
        Err(DecodeError::Malformed(String::new())),
    );
    let mut trailing = good.clone();
    trailing.push(0);
    check(&trailing, Err(DecodeError::Malformed(String::new())));
    let v9 = encode_frame(&with_version(9), 256).expect("encodes");
    check(
        &v9,
        Err(DecodeError::UnsupportedVersion {
            got: 9,
            supported: vec![PROTOCOL_VERSION],
        }),
    );
}

#[test]
fn unknown_body_of_newer_version_reports_version() {
    // A newer peer sends a body variant this build does not know: the version, not the parse
    // failure, is the useful error.
    #[derive(serde::Serialize)]
    struct Future {
        version: u16,
        body: &'static str,
    }
    let payload = rmp_serde::to_vec_named(&Future {
        version: 7,
        body: "Teleport",
    })
    .expect("encodes");
    assert_eq!(
        decode_payload(&payload),
        Err(DecodeError::UnsupportedVersion {
            got: 7,
            supported: vec![PROTOCOL_VERSION]
        })
    );
}

#[test]
fn encode_refuses_oversized() {
    let big = Envelope::request(
        "x",
        0,
        Body::Ping {
            payload: vec![0; 100],
        },
    );
    assert!(matches!(
        encode_frame(&big, 64),
        Err(EncodeError::TooLarge { max: 64, .. })
    ));
}

#[test]
fn reader_pops_frames_in_order_and_reports_leftovers() {
    let a = ping();
    let b = with_version(PROTOCOL_VERSION).with_header(TRACEPARENT, "00-abc-def-01");
    let mut bytes = encode_frame(&a, 1024).expect("encodes");
    bytes.extend(encode_frame(&b, 1024).expect("encodes"));
    bytes.push(0);
    let mut r = FrameReader::new(1024);
    r.push(&bytes);
    assert_eq!(r.pop_envelope(), Ok(Some(a)));
    assert_eq!(r.pop_envelope(), Ok(Some(b)));
    assert_eq!(r.pop_envelope(), Ok(None));
    assert_eq!(r.finish(), Err(DecodeError::Truncated));
}

#[test]
fn reply_correlates_and_keeps_trace_context() {
    let req = ping()
        .with_header(TRACEPARENT, "tp")
        .with_header("other", "x");
    let rep = req.reply(Body::Pong { payload: vec![] });
    assert_eq!(rep.correlation, Some(req.id));
    assert_eq!(rep.headers.get(TRACEPARENT).map(String::as_str), Some("tp"));
    assert!(!rep.headers.contains_key("other"));
}

fn arb_error_code() -> impl Strategy<Value = ErrorCode> {
    prop_oneof![
        Just(ErrorCode::Malformed),
        Just(ErrorCode::TooLarge),
        Just(ErrorCode::UnsupportedVersion),
        Just(ErrorCode::DeadlineExceeded),
        Just(ErrorCode::Unauthorized),
        Just(ErrorCode::StaleEpoch),
        Just(ErrorCode::NotFound),
        Just(ErrorCode::Internal),
        Just(ErrorCode::Busy),
    ]
}

fn arb_body() -> impl Strategy<Value = Body> {
    prop_oneof![
        (".*", proptest::collection::vec(any::<u16>(), 0..4)).prop_map(|(n, v)| Body::Hello {
            node: NodeId(n),
            protocol_versions: v
        }),
        ".*".prop_map(|n| Body::HelloAck { node: NodeId(n) }),
        (arb_error_code(), ".*").prop_map(|(code, detail)| Body::Error { code, detail }),
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(|payload| Body::Ping { payload }),
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(|payload| Body::Pong { payload }),
        (".*", ".*", any::<u32>()).prop_map(|(repo, contract, limit)| Body::MemoryQuery {
            query: crate::memory::MemoryQuery {
                repos: vec![repo],
                contracts: vec![contract],
                limit
            }
        }),
        (".*", ".*", ".*").prop_map(|(repo, predicate, object)| Body::MemoryRecord {
            record: Box::new(crate::memory::MemoryRecord {
                repo: repo.clone(),
                run_id: "r".into(),
                step: "s".into(),
                commit: "c".into(),
                facts: vec![crate::memory::ObservedFact {
                    subject: format!("repo:{repo}"),
                    predicate,
                    object,
                    path: "factory.toml".into(),
                }],
            })
        }),
    ]
}

fn arb_envelope() -> impl Strategy<Value = Envelope> {
    (
        any::<u128>(),
        proptest::option::of(any::<u128>()),
        ".*",
        any::<u64>(),
        proptest::option::of(any::<u64>()),
        proptest::collection::btree_map(".*", ".*", 0..3),
        arb_body(),
    )
        .prop_map(
            |(id, corr, target, deadline, epoch, headers, body)| Envelope {
                version: PROTOCOL_VERSION,
                id: MessageId(Uuid::from_u128(id)),
                correlation: corr.map(|c| MessageId(Uuid::from_u128(c))),
                target,
                deadline_unix_ms: deadline,
                epoch: epoch.map(Epoch),
                headers: headers.into_iter().collect::<BTreeMap<_, _>>(),
                body,
            },
        )
}

proptest! {
    #[test]
    fn every_envelope_round_trips(env in arb_envelope()) {
        let bytes = encode_frame(&env, DEFAULT_MAX_FRAME).expect("small envelopes encode");
        prop_assert_eq!(decode_frame(&bytes, DEFAULT_MAX_FRAME), Ok(env));
    }

    #[test]
    fn chunked_input_yields_the_same_envelope(env in arb_envelope(), cut in any::<prop::sample::Index>()) {
        let bytes = encode_frame(&env, DEFAULT_MAX_FRAME).expect("small envelopes encode");
        let at = cut.index(bytes.len());
        let mut r = FrameReader::new(DEFAULT_MAX_FRAME);
        r.push(&bytes[..at]);
        prop_assert_eq!(r.pop_envelope(), Ok(None));
        r.push(&bytes[at..]);
        prop_assert_eq!(r.pop_envelope(), Ok(Some(env)));
        prop_assert_eq!(r.finish(), Ok(()));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode_frame(&bytes, 128);
        let _ = decode_payload(&bytes);
        let mut r = FrameReader::new(128);
        r.push(&bytes);
        while let Ok(Some(_)) = r.pop_envelope() {}
    }

    #[test]
    fn arbitrary_payload_behind_valid_prefix_never_panics(payload in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode_frame(&frame_of(&payload), 1024);
    }
}
