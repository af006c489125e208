use super::*;

/// The example from Slack's documentation on verifying requests.
const DOC_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const DOC_TS: &str = "1531420618";
const DOC_BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
const DOC_SIGNATURE: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

#[test]
fn signature_matches_slack_example() {
    assert_eq!(
        signature(DOC_SECRET.as_bytes(), DOC_TS, DOC_BODY.as_bytes()),
        DOC_SIGNATURE
    );
}

fn headers(ts: &str, sig: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("x-slack-request-timestamp", ts.parse().unwrap());
    h.insert("x-slack-signature", sig.parse().unwrap());
    h
}

fn check_verify(ts: &str, sig: &str, now: u64, expected: Result<(), &str>) {
    let config = SlackConfig::new(DOC_SECRET);
    let got = verify(&config, &headers(ts, sig), DOC_BODY.as_bytes(), now);
    match (got, expected) {
        (Ok(()), Ok(())) => {}
        (Err(HttpError::Unauthorized(m)), Err(part)) => assert!(m.contains(part), "{m}"),
        (got, want) => panic!("{ts} {sig} {now}: got {got:?}, want {want:?}"),
    }
}

#[test]
fn requests_verify() {
    let now: u64 = DOC_TS.parse().unwrap();
    check_verify(DOC_TS, DOC_SIGNATURE, now, Ok(()));
    check_verify(DOC_TS, DOC_SIGNATURE, now + 300, Ok(()));
    check_verify(DOC_TS, DOC_SIGNATURE, now + 301, Err("stale"));
    check_verify(DOC_TS, DOC_SIGNATURE, now - 301, Err("stale"));
    check_verify(
        DOC_TS,
        &DOC_SIGNATURE.replace("a2", "b2"),
        now,
        Err("bad Slack signature"),
    );
    check_verify("1531420619", DOC_SIGNATURE, now, Err("bad Slack signature"));
    check_verify("soon", DOC_SIGNATURE, now, Err("not a Unix time"));
    let config = SlackConfig::new(DOC_SECRET);
    let missing = verify(&config, &HeaderMap::new(), b"", now);
    assert!(matches!(missing, Err(HttpError::Unauthorized(m)) if m.contains("missing")));
}

fn check_text(input: &str, expected: Result<SlackAction, &str>) {
    match (parse_text(input), expected) {
        (Ok(got), Ok(want)) => assert_eq!(got, want, "{input}"),
        (Err(got), Err(part)) => assert!(got.contains(part), "{input}: {got}"),
        (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
    }
}

#[test]
fn command_texts_parse() {
    let ship = |title: &str, changes| {
        SlackAction::Ship(Outcome {
            title: title.into(),
            description: String::new(),
            changes,
        })
    };
    check_text("", Ok(SlackAction::Help));
    check_text("help", Ok(SlackAction::Help));
    check_text(
        "ship expose created time",
        Ok(ship("expose created time", vec![])),
    );
    check_text(
        "ship expose created time | add orders createdAt string:date-time; remove orders old",
        Ok(ship(
            "expose created time",
            vec![
                crate::http::changes::parse_change_spec("add orders createdAt string:date-time")
                    .unwrap(),
                crate::http::changes::parse_change_spec("remove orders old").unwrap(),
            ],
        )),
    );
    check_text("ship | remove a b", Err("title"));
    check_text("ship x | explode a", Err("change_specs[0]"));
    check_text(
        "status 0193-abc",
        Ok(SlackAction::Status("0193-abc".into())),
    );
    check_text("status", Err("usage"));
    check_text("status a b", Err("usage"));
    check_text("deploy now", Err("unknown command `deploy`"));
}
