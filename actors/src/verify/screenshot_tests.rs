use std::collections::BTreeMap;

use super::*;
use crate::verify::Sandbox;
use crate::verify::fixtures::{provider, require_python};

#[test]
fn png_checks() {
    let check = |bytes: &[u8], want: Result<(), &str>| {
        let got = check_png(bytes);
        match want {
            Ok(()) => assert!(got.is_ok(), "{got:?}"),
            Err(w) => assert!(got.as_ref().is_err_and(|e| e.contains(w)), "{got:?}"),
        }
    };
    let mut good = PNG_SIGNATURE.to_vec();
    good.extend_from_slice(&[0, 0, 0, 13]);
    good.extend_from_slice(b"IHDR");
    good.extend_from_slice(&1280u32.to_be_bytes());
    good.extend_from_slice(&800u32.to_be_bytes());
    good.resize(2000, 0);
    check(&good, Ok(()));
    check(b"GIF89a", Err("signature"));
    check(&good[..100], Err("only 100 bytes"));
    let mut zero = good.clone();
    zero[16..20].copy_from_slice(&0u32.to_be_bytes());
    check(&zero, Err("empty image"));
}

#[test]
fn missing_chromium_says_how_to_install() {
    let err = VerifyError::ChromiumMissing(PathBuf::from("/nowhere/chromium"));
    assert!(err.to_string().contains("scripts/setup.sh"));
}

/// A page on one port fetches JSON from a service on another port; the screenshot must be a real
/// PNG and the rendered DOM must show the fetched value.
#[tokio::test]
async fn screenshot_of_a_page_showing_fetched_json() {
    require_python();
    chromium_path().expect("headless chromium is needed for this test");
    let dir = tempfile::tempdir().unwrap();
    let api_dir = dir.path().join("api");
    let web_dir = dir.path().join("web");
    std::fs::create_dir_all(&api_dir).unwrap();
    std::fs::create_dir_all(&web_dir).unwrap();
    let web_env = BTreeMap::from([("API_PORT".to_string(), "{port:api}".to_string())]);
    let sandbox = Sandbox::start(
        vec![
            provider("api", &api_dir, BTreeMap::new()),
            provider("web", &web_dir, web_env),
        ],
        &dir.path().join("sandbox"),
    )
    .await
    .unwrap();
    assert_ne!(sandbox.port("api"), sandbox.port("web"));
    let page = format!("{}/", sandbox.url("web").unwrap());
    let out = dir.path().join("shots/web-index.png");
    let (shot, dom) = tokio::join!(
        screenshot(&page, &out, Duration::from_secs(60)),
        dump_dom(&page, Duration::from_secs(60))
    );
    let shot = shot.unwrap();
    assert_eq!(shot.path, out);
    assert!(shot.bytes >= MIN_PNG_BYTES);
    let bytes = std::fs::read(&out).unwrap();
    assert!(bytes.starts_with(PNG_SIGNATURE));
    assert_eq!(shot.sha256, sha256_file(&out).unwrap());
    let dom = dom.unwrap();
    assert!(
        dom.contains("total is 42"),
        "fetched value missing from DOM: {dom}"
    );
    sandbox.stop().await;
}

#[tokio::test]
async fn unreachable_page_still_fails_cleanly_or_renders_an_error_page() {
    // Chromium renders its own error page for a refused connection; what matters is that the
    // call returns within its deadline and never hangs.
    chromium_path().expect("headless chromium is needed for this test");
    let port = std::net::TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let res = tokio::time::timeout(
        Duration::from_secs(90),
        screenshot(
            &format!("http://127.0.0.1:{port}/"),
            &dir.path().join("x.png"),
            Duration::from_secs(60),
        ),
    )
    .await;
    assert!(res.is_ok(), "screenshot call hung past its own deadline");
}
