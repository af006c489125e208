//! Reviewer pages: the run list, bundle files, and paths that try to leave the bundle.

use crate::support::{send, start};

/// A bundle folder with an index, a diff, a secret beside it and a symlink pointing at the secret.
fn bundle() -> (tempfile::TempDir, std::path::PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let bundle = root.path().join("bundle");
    std::fs::create_dir_all(bundle.join("diffs")).unwrap();
    std::fs::write(bundle.join("index.html"), "<h1>bundle of the run</h1>").unwrap();
    std::fs::write(bundle.join("diffs/backend.diff"), "+createdAt").unwrap();
    std::fs::write(root.path().join("secret.txt"), "do not serve").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(root.path().join("secret.txt"), bundle.join("escape.txt")).unwrap();
    (root, bundle)
}

#[tokio::test]
async fn pages_serve_the_list_and_the_bundle_but_nothing_outside_it() {
    let server = start(None, false).await;
    let id = server.submit("<b>escaped</b> title").await;
    let (_root, dir) = bundle();
    server.fake.set_bundle(&id, dir);
    let token = &server.tokens.read;

    let list = server.get("/", token).await;
    assert_eq!(list.status, 200);
    assert!(
        list.text().contains(&format!("href=\"/runs/{id}/\"")),
        "{}",
        list.text()
    );
    assert!(
        list.text().contains("&lt;b&gt;escaped"),
        "titles must be escaped"
    );

    let index = server.get(&format!("/runs/{id}/"), token).await;
    assert_eq!(index.status, 200, "{}", index.text());
    assert_eq!(index.text(), "<h1>bundle of the run</h1>");
    assert!(
        index
            .header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let diff = server
        .get(&format!("/runs/{id}/diffs/backend.diff"), token)
        .await;
    assert_eq!((diff.status, diff.text().as_str()), (200, "+createdAt"));
    let redirect = server.get(&format!("/runs/{id}"), token).await;
    assert_eq!(redirect.status, 308);

    for bad in [
        "../secret.txt",
        "diffs/../../secret.txt",
        "%2e%2e/secret.txt",
        "..%2fsecret.txt",
    ] {
        let r = server.get(&format!("/runs/{id}/{bad}"), token).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
        assert!(r.error_message().contains("refused path"), "{bad}");
        assert!(!r.text().contains("do not serve"));
    }
    #[cfg(unix)]
    {
        let r = server.get(&format!("/runs/{id}/escape.txt"), token).await;
        assert_eq!(r.status, 400, "{}", r.text());
        assert!(r.error_message().contains("leads outside the bundle"));
    }
    let absent = server.get(&format!("/runs/{id}/nothing.html"), token).await;
    assert_eq!(absent.status, 404);
    let no_bundle = server.submit("no bundle yet").await;
    let r = server.get(&format!("/runs/{no_bundle}/"), token).await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn pages_take_a_query_token_and_remember_it_in_a_cookie() {
    let server = start(None, false).await;
    let id = server.submit("cookie").await;
    let (_root, dir) = bundle();
    server.fake.set_bundle(&id, dir);

    let anonymous = send(server.addr, "GET", "/", &[], b"").await;
    assert_eq!(anonymous.status, 401);
    assert!(anonymous.error_message().contains("?token="));
    let wrong = send(
        server.addr,
        "GET",
        &format!("/?token={}", server.tokens.submit),
        &[],
        b"",
    )
    .await;
    assert_eq!(wrong.status, 403);

    let first = send(
        server.addr,
        "GET",
        &format!("/?token={}", server.tokens.read),
        &[],
        b"",
    )
    .await;
    assert_eq!(first.status, 200);
    let cookie = first.header("set-cookie").expect("a cookie").to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap();
    let next = send(
        server.addr,
        "GET",
        &format!("/runs/{id}/diffs/backend.diff"),
        &[("Cookie", pair)],
        b"",
    )
    .await;
    assert_eq!(next.status, 200, "{}", next.text());

    // The cookie is for pages only: the API does not take it.
    let api = send(server.addr, "GET", "/v1/runs", &[("Cookie", pair)], b"").await;
    assert_eq!(api.status, 401);
}

#[tokio::test]
async fn public_pages_need_no_token_but_the_api_still_does() {
    let server = start(None, true).await;
    server.submit("public").await;
    assert_eq!(send(server.addr, "GET", "/", &[], b"").await.status, 200);
    assert_eq!(
        send(server.addr, "GET", "/v1/runs", &[], b"").await.status,
        401
    );
}
