//! The fake answers like the BAN address search (`../shared/connectors/README.md` §2.7):
//! parameter checks first (400 « Failed parsing query »), then the built-in table matched
//! on label words, accents and case aside, filtered by `type`, `postcode`, `citycode`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use demarches_fakes::ban::{DEMO_ADDRESSES, FakeBan, Fault};
use serde_json::Value;

/// GET `target`: (status, lowercase head, JSON body or Null).
fn get(up: &FakeBan, target: &str) -> (u16, String, Value) {
    let mut sock = TcpStream::connect(up.authority()).unwrap();
    let req = format!("GET {target} HTTP/1.1\r\nhost: {}\r\n\r\n", up.authority());
    sock.write_all(req.as_bytes()).unwrap();
    let mut buf = Vec::new();
    sock.read_to_end(&mut buf).unwrap();
    let text = String::from_utf8(buf).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = serde_json::from_str(body).unwrap_or(Value::Null);
    (status, head.to_lowercase(), body)
}

fn labels(body: &Value) -> Vec<String> {
    body["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["label"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_prefix_of_each_word_finds_the_address_accents_and_case_aside() {
    let up = FakeBan::start().unwrap();
    for path in ["/search", "/search/"] {
        let (status, head, body) = get(&up, &format!("{path}?q=20%20avenue%20de%20seg&limit=10"));
        assert_eq!(status, 200);
        assert!(head.contains("content-type: application/json; charset=utf-8"));
        assert_eq!(body["type"], "FeatureCollection");
        assert_eq!(body["query"], "20 avenue de seg");
        assert_eq!(labels(&body), ["20 Avenue de Ségur 75007 Paris"]);
        let f = &body["features"][0];
        assert_eq!(f["geometry"]["type"], "Point");
        assert_eq!(f["properties"]["citycode"], "75107");
        assert_eq!(f["properties"]["type"], "housenumber");
    }
    // Accents typed or not, any case: the same record.
    let (_, _, body) = get(&up, "/search/?q=78+RUE+DU+GRES+VERGEZE");
    assert_eq!(labels(&body), ["78 Rue du Grés 30310 Vergèze"]);
    let (_, _, body) = get(&up, "/search/?q=Al%C3%A8s");
    assert_eq!(labels(&body), ["Alès"]);
    let (_, _, body) = get(&up, "/search/?q=ales");
    assert_eq!(labels(&body), ["Alès"]);
    // A house number the table lacks still finds the street, ranked by score.
    let (_, _, body) = get(&up, "/search/?q=3%20avenue%20de%20S%C3%A9gur");
    assert_eq!(labels(&body), ["20 Avenue de Ségur 75007 Paris"]);
    assert!(body["features"][0]["properties"]["score"].as_f64().unwrap() < 1.0);
}

#[test]
fn each_demo_address_finds_its_record_first() {
    let up = FakeBan::start().unwrap();
    let expected = [
        "20 Avenue de Ségur 75007 Paris",
        "78 Rue du Grés 30310 Vergèze",
        "Alès",
    ];
    assert_eq!(DEMO_ADDRESSES.len(), expected.len());
    for (q, label) in DEMO_ADDRESSES.iter().zip(expected) {
        let q: String = q
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect();
        let (status, _, body) = get(&up, &format!("/search/?q={q}&limit=10"));
        assert_eq!(status, 200);
        assert_eq!(labels(&body), [label], "{q}");
    }
}

#[test]
fn nothing_matching_is_an_empty_collection_not_an_error() {
    let up = FakeBan::start().unwrap();
    let (status, _, body) = get(&up, "/search/?q=zzqxw%20ygrk%2099999&limit=10");
    assert_eq!(status, 200);
    assert_eq!(body["features"], Value::Array(Vec::new()));
    assert_eq!(body["query"], "zzqxw ygrk 99999");
    // Digits alone do not match everything.
    let (_, _, body) = get(&up, "/search/?q=99999");
    assert_eq!(labels(&body), Vec::<String>::new());
}

#[test]
fn limit_and_filters_are_honoured() {
    let up = FakeBan::start().unwrap();
    let (_, _, body) = get(&up, "/search/?q=paris&limit=20");
    let all = labels(&body);
    assert_eq!(all.len(), 6, "{all:?}");
    let (_, _, body) = get(&up, "/search/?q=paris&limit=2");
    assert_eq!(labels(&body), all[..2]);
    // No limit: 5, as the service.
    let (_, _, body) = get(&up, "/search/?q=paris");
    assert_eq!(labels(&body).len(), 5);

    // The commune first: the query covers its whole label.
    assert_eq!(all[0], "Paris");

    let (_, _, body) = get(&up, "/search/?q=paris&type=municipality");
    assert_eq!(labels(&body), ["Paris"]);
    let m = &body["features"][0]["properties"];
    assert_eq!(m["postcode"], "75001");
    assert!(m["context"].as_str().unwrap().starts_with("75,"));
    let (_, _, body) = get(&up, "/search/?q=paris&type=street&limit=20");
    assert_eq!(labels(&body).len(), 4);
    let (_, _, body) = get(&up, "/search/?q=paris&postcode=83170");
    assert_eq!(labels(&body), ["Paris 83170 Brignoles"]);
    let (_, _, body) = get(&up, "/search/?q=paris&citycode=75107");
    assert_eq!(labels(&body), ["20 Avenue de Ségur 75007 Paris"]);
    let (_, _, body) = get(&up, "/search/?q=paris&citycode=30007");
    assert_eq!(labels(&body), Vec::<String>::new());
}

#[test]
fn bad_parameters_are_400_failed_parsing_query() {
    let up = FakeBan::start().unwrap();
    let q_detail = "q: must contain between 3 and 200 chars and start with a number or a letter";
    let long = "a".repeat(201);
    for q in ["ab", "%20%20ab%20%20", "-rue%20de%20Paris", "", &long] {
        let (status, _, body) = get(&up, &format!("/search/?q={q}"));
        assert_eq!(status, 400, "{q}");
        assert_eq!(body["code"], 400);
        assert_eq!(body["message"], "Failed parsing query");
        assert_eq!(body["detail"], serde_json::json!([q_detail]), "{q}");
    }
    let (status, _, _) = get(&up, &format!("/search/?q={}", "a".repeat(200)));
    assert_eq!(status, 200);
    let (status, _, _) = get(&up, "/search/?q=%20%20abc%20");
    assert_eq!(status, 200, "trimmed before counting");

    for limit in ["0", "21", "dix", ""] {
        let (status, _, body) = get(&up, &format!("/search/?q=paris&limit={limit}"));
        assert_eq!(status, 400, "{limit}");
        assert_eq!(
            body["detail"],
            serde_json::json!(["limit: must be an integer between 1 and 20"])
        );
    }
    // One string per faulty parameter.
    let (status, _, body) = get(&up, "/search/?q=a&limit=50&type=city&postcode=7500");
    assert_eq!(status, 400);
    assert_eq!(body["detail"].as_array().unwrap().len(), 4, "{body}");
}

#[test]
fn faults_misbehave_for_their_query_only() {
    let up = FakeBan::start().unwrap();
    up.fail("panne", Fault::Unavailable(Some(7)));
    up.fail("trop", Fault::RateLimited(5));
    up.fail("lent", Fault::Hang(Duration::from_millis(600)));
    let (status, head, _) = get(&up, "/search/?q=Panne");
    assert_eq!(status, 503);
    assert!(head.contains("retry-after: 7"), "{head}");
    let (status, head, _) = get(&up, "/search/?q=trop");
    assert_eq!(status, 429);
    assert!(
        head.contains("retry-after: 5") && head.contains("text/html"),
        "{head}"
    );
    let t = Instant::now();
    let (status, _, body) = get(&up, "/search/?q=lent");
    assert!(t.elapsed() >= Duration::from_millis(600));
    assert_eq!((status, body["query"].as_str()), (200, Some("lent")));
    // Others are served; healed, the query is too.
    assert_eq!(get(&up, "/search/?q=ales").0, 200);
    up.heal("panne");
    assert_eq!(get(&up, "/search/?q=panne").0, 200);
}

#[test]
fn counts_requests_redirects_and_stops_when_dropped() {
    let up = FakeBan::start().unwrap();
    assert_eq!(up.hits(), 0);
    let (status, head, _) = get(&up, "/redirect-ok");
    assert_eq!(status, 302);
    assert!(head.contains("location: /search/?q=segur&limit=5"));
    let (status, head, _) = get(&up, "/redirect-metadata");
    assert_eq!(status, 302);
    assert!(head.contains("location: http://169.254.169.254/"));
    let (status, head, _) = get(&up, "/redirect-elsewhere");
    assert_eq!(status, 301);
    assert!(head.contains("location: http://evil.test/"));
    assert_eq!(get(&up, "/nope").0, 404);
    assert_eq!(up.hits(), 4);

    let authority = up.authority();
    drop(up);
    assert!(TcpStream::connect(authority).is_err(), "the port is closed");
}

#[test]
fn unmatched_queries_can_answer_a_chosen_record() {
    let up = FakeBan::start().unwrap();
    up.answer_unmatched_with(Some("20 Avenue de Ségur 75007 Paris"));
    let (_, _, body) = get(&up, "/search/?q=8%20bd%20du%20Port");
    assert_eq!(labels(&body), ["20 Avenue de Ségur 75007 Paris"]);
    let (_, _, body) = get(&up, "/search/?q=ales");
    assert_eq!(labels(&body), ["Alès"]);
    up.answer_unmatched_with(None);
    let (_, _, body) = get(&up, "/search/?q=8%20bd%20du%20Port");
    assert_eq!(labels(&body), Vec::<String>::new());
}
