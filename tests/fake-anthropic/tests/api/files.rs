use fake_anthropic::{Config, FakeServer};
use reqwest::blocking::multipart;
use serde_json::Value;

use crate::{authed, client, error_of, get, json_of, upload};

#[test]
fn upload_metadata_list_delete_round_trip() {
    let server = FakeServer::start();
    let a = upload(&server, "dir/sales 2026.csv", b"a,b\n1,2\n");
    assert_eq!(a["filename"], "sales 2026.csv", "basename only");
    assert_eq!(a["mime_type"], "text/csv", "detected from the extension");
    assert_eq!(a["size_bytes"], 8);
    assert_eq!(a["downloadable"], false);
    assert!(a["expires_at"].is_null());
    assert!(a["id"].as_str().unwrap().starts_with("file_"));
    let b = upload(&server, "b.png", b"\x89PNG");
    let c = upload(&server, "c.txt", b"hello");

    let (status, meta) = get(&server, &format!("/v1/files/{}", a["id"].as_str().unwrap()));
    assert_eq!((status, &meta), (200, &a));

    // newest first, opaque cursors
    let (_, page1) = get(&server, "/v1/files?limit=2");
    let ids: Vec<&Value> = page1["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| &f["id"])
        .collect();
    assert_eq!(ids, [&c["id"], &b["id"]]);
    let next = page1["next_page"].as_str().unwrap();
    assert!(next.starts_with("page_"));
    let (_, page2) = get(&server, &format!("/v1/files?limit=2&page={next}"));
    assert_eq!(page2["data"][0]["id"], a["id"]);
    assert!(page2["next_page"].is_null());

    let (status, by_ids) = get(
        &server,
        &format!(
            "/v1/files?ids%5B%5D={}&ids%5B%5D=file_nope&ids[]={}",
            a["id"].as_str().unwrap(),
            c["id"].as_str().unwrap()
        ),
    );
    assert_eq!(status, 200);
    assert_eq!(
        by_ids["data"].as_array().unwrap().len(),
        2,
        "unknown ids omitted"
    );

    for bad in [
        "/v1/files?after_id=x",
        "/v1/files?limit=0",
        "/v1/files?limit=1001",
        "/v1/files?ids[]=a&limit=2",
        "/v1/files?page=bogus",
    ] {
        let (status, body) = get(&server, bad);
        assert_eq!(status, 400, "{bad}");
        assert_eq!(error_of(&body).0, "invalid_request_error");
    }

    let url = format!(
        "{}/v1/files/{}",
        server.base_url(),
        a["id"].as_str().unwrap()
    );
    let (status, body) = json_of(authed(client().delete(&url)).send().unwrap());
    assert_eq!(status, 200);
    assert_eq!(
        body,
        serde_json::json!({"id": a["id"], "type": "file_deleted"})
    );
    let (status, body) = json_of(authed(client().get(&url)).send().unwrap());
    assert_eq!(
        (status, error_of(&body).0.as_str()),
        (404, "not_found_error")
    );

    let stats = server.stats();
    assert_eq!(stats.upload_count, 3);
    let key = (
        blake3::hash(b"hello").to_hex().to_string(),
        "c.txt".to_owned(),
    );
    assert_eq!(stats.uploads.get(&key), Some(&1));
}

#[test]
fn listing_by_ids_takes_at_most_100_after_deduplication_newest_first() {
    let server = FakeServer::start();
    let a = upload(&server, "a.txt", b"a");
    let b = upload(&server, "b.txt", b"b");
    let id = |f: &Value| f["id"].as_str().unwrap().to_owned();
    let query = |ids: &[String]| {
        let pairs: Vec<String> = ids.iter().map(|i| format!("ids%5B%5D={i}")).collect();
        format!("/v1/files?{}", pairs.join("&"))
    };
    // Asked oldest first, answered newest first, in one page.
    let (status, body) = get(&server, &query(&[id(&a), id(&b)]));
    assert_eq!(status, 200);
    let listed: Vec<&Value> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| &f["id"])
        .collect();
    assert_eq!(listed, [&b["id"], &a["id"]]);
    assert!(body["next_page"].is_null());
    // 100 distinct ids, each twice, are 100 after de-duplication: accepted.
    let mut ids: Vec<String> = (0..98).map(|i| format!("file_unknown{i}")).collect();
    ids.extend([id(&a), id(&b)]);
    let twice: Vec<String> = ids.iter().chain(&ids).cloned().collect();
    let (status, body) = get(&server, &query(&twice));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"].as_array().unwrap().len(), 2);
    // 101 distinct ids are not.
    ids.push("file_one_too_many".into());
    let (status, body) = get(&server, &query(&ids));
    assert_eq!(
        (status, error_of(&body).0.as_str()),
        (400, "invalid_request_error")
    );
    assert_eq!(server.stats().requests.get("list_files"), Some(&3));
}

#[test]
fn legacy_beta_header_switches_shapes() {
    let server = FakeServer::start();
    let first = upload(&server, "a.csv", b"1");
    upload(&server, "b.csv", b"2");
    let list = |query: &str| {
        json_of(
            authed(client().get(format!("{}/v1/files{query}", server.base_url())))
                .header("anthropic-beta", "files-api-2025-04-14")
                .send()
                .unwrap(),
        )
    };
    let (status, body) = list("?limit=1");
    assert_eq!(status, 200);
    assert_eq!(body["has_more"], true);
    assert!(body.get("next_page").is_none());
    assert!(body["data"][0].get("expires_at").is_none());
    let (_, body) = list(&format!("?after_id={}", body["last_id"].as_str().unwrap()));
    assert_eq!(body["data"][0]["id"], first["id"]);
    assert_eq!(body["has_more"], false);
}

#[test]
fn upload_validation() {
    let server = FakeServer::start_with(Config {
        max_upload_bytes: Some(10),
        ..Config::default()
    });
    let send = |form: multipart::Form| {
        json_of(
            authed(client().post(format!("{}/v1/files", server.base_url())))
                .multipart(form)
                .send()
                .unwrap(),
        )
    };
    let file = |name: &str, bytes: &[u8]| {
        multipart::Form::new().part(
            "file",
            multipart::Part::bytes(bytes.to_vec()).file_name(name.to_owned()),
        )
    };
    let (status, body) = send(file("big.bin", &[0; 11]));
    assert_eq!(
        (status, error_of(&body).0.as_str()),
        (413, "request_too_large")
    );
    let (status, _) = send(file("ok.bin", &[0; 10]));
    assert_eq!(status, 200);
    for bad in ["a:b.csv", "a|b", "tab\there", &"x".repeat(256)] {
        let (status, body) = send(file(bad, b"1"));
        assert_eq!(status, 400, "{bad:?} {body}");
    }
    for secs in ["3599", "7776001", "soon"] {
        let (status, _) = send(file("a.csv", b"1").text("expires_in_seconds", secs));
        assert_eq!(status, 400, "{secs}");
    }
    let (status, body) = send(file("a.csv", b"1").text("expires_in_seconds", "3600"));
    assert_eq!(status, 200);
    assert!(body["expires_at"].is_string());
    let (status, body) = send(multipart::Form::new().text("purpose", "x"));
    assert_eq!(
        (status, error_of(&body).0.as_str()),
        (400, "invalid_request_error")
    );
    let (status, body) = send(file("", b"%PDF-1.4"));
    assert_eq!(status, 200);
    assert_eq!(body["filename"], "unnamed.pdf");
}

#[test]
fn download_rules() {
    let server = FakeServer::start();
    let up = upload(&server, "in.csv", b"x");
    let id = up["id"].as_str().unwrap();
    let (status, body) = get(&server, &format!("/v1/files/{id}/content"));
    assert_eq!(
        (status, error_of(&body)),
        (
            400,
            (
                "invalid_request_error".into(),
                Some("file_not_downloadable".into())
            )
        )
    );
    server.expire_file(id);
    let (status, body) = get(&server, &format!("/v1/files/{id}/content"));
    assert_eq!(
        (status, error_of(&body)),
        (404, ("not_found_error".into(), Some("file_expired".into())))
    );
    let (status, meta) = get(&server, &format!("/v1/files/{id}"));
    assert_eq!(status, 200, "expired files keep their metadata");
    assert!(meta["expires_at"].is_string());
    let (status, body) = get(&server, "/v1/files/file_unknown/content");
    assert_eq!(
        (status, error_of(&body)),
        (404, ("not_found_error".into(), None))
    );
}

#[test]
fn common_headers_auth_version_beta_paths() {
    let server = FakeServer::start_with(Config {
        api_key: Some("right".into()),
        ..Config::default()
    });
    let url = format!("{}/v1/files", server.base_url());
    let send = |rb: reqwest::blocking::RequestBuilder| {
        let resp = rb.send().unwrap();
        assert!(
            resp.headers()["request-id"]
                .to_str()
                .unwrap()
                .starts_with("req_")
        );
        json_of(resp)
    };
    let ok = || client().get(&url).header("anthropic-version", "2023-06-01");
    let (status, body) = send(client().get(&url).header("anthropic-version", "2023-06-01"));
    assert_eq!(
        (status, error_of(&body).0.as_str()),
        (401, "authentication_error")
    );
    let (status, _) = send(ok().header("x-api-key", "wrong"));
    assert_eq!(status, 401);
    let (status, _) = send(ok().header("authorization", "Bearer right"));
    assert_eq!(status, 200);
    let (status, _) = send(ok().header("x-api-key", "right").header("x-unknown", "1"));
    assert_eq!(status, 200);
    let (status, body) = send(client().get(&url).header("x-api-key", "right"));
    assert_eq!(
        (status, error_of(&body).0.as_str()),
        (400, "invalid_request_error")
    );
    let (status, _) = send(
        client()
            .get(&url)
            .header("x-api-key", "right")
            .header("anthropic-version", "2024-01-01"),
    );
    assert_eq!(status, 400);
    let (status, body) = send(
        ok().header("x-api-key", "right")
            .header("anthropic-beta", "files-api-2025-04-14, made-up-2030-01-01"),
    );
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("made-up-2030-01-01")
    );
    let (status, _) = send(
        ok().header("x-api-key", "right")
            .header("anthropic-beta", "code-execution-2025-08-25"),
    );
    assert_eq!(status, 200);
    let (status, body) = send(client().get(format!("{}/v1/nope", server.base_url())));
    assert_eq!(
        (status, error_of(&body).0.as_str()),
        (404, "not_found_error")
    );
    let log = server.log();
    assert_eq!(log.len(), 9);
    assert_eq!(log[8].endpoint, None);
    assert_eq!(log[8].status, 404);
    assert_eq!(server.stats().requests["unknown"], 1);
}

#[test]
fn big_and_unicode_uploads_are_stored_exactly() {
    let server = FakeServer::start();
    let big: Vec<u8> = (0..6 * 1024 * 1024).map(|i: u32| (i % 251) as u8).collect();
    let meta = upload(&server, "données 2026.bin", &big);
    assert_eq!(meta["filename"], "données 2026.bin");
    assert_eq!(meta["size_bytes"], big.len());
    let id = meta["id"].as_str().unwrap();
    assert_eq!(server.file_bytes(id).unwrap(), big);
    let key = (
        blake3::hash(&big).to_hex().to_string(),
        "données 2026.bin".to_owned(),
    );
    assert_eq!(server.stats().uploads[&key], 1);
    assert!(
        server.wait_until(std::time::Duration::from_secs(5), |s| s.uploads_in_flight
            == 0)
    );
    assert_eq!(server.stats().max_uploads_in_flight, 1);
}
