//! The fake answers like the real API Entreprise (`../shared/connectors/README.md` §1.9):
//! token first, then the identifier format and the mandatory parameters, then the data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use demarches_fakes::api_entreprise::{FakeApiEntreprise, Fault, token, valid_token};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PARAMS: &str = "context=tests&recipient=13002526500013&object=procedure_id%3A%201";

/// GET `target` with `token`: (status, headers, JSON body).
async fn get(up: &FakeApiEntreprise, target: &str, token: Option<&str>) -> (u16, String, Value) {
    let mut sock = TcpStream::connect(up.authority()).await.unwrap();
    let auth = token
        .map(|t| format!("authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "GET {target} HTTP/1.1\r\nhost: {}\r\n{auth}\r\n",
        up.authority()
    );
    sock.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    sock.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8(buf).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = serde_json::from_str(body).unwrap_or(Value::Null);
    (status, head.to_lowercase(), body)
}

fn codes(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn token_then_format_then_parameters_then_data() {
    let up = FakeApiEntreprise::start().await.unwrap();
    let etab = |siret: &str| format!("/v3/insee/sirene/etablissements/{siret}?{PARAMS}");
    let t = valid_token();

    let (s, _, b) = get(&up, &etab("12000101100010"), None).await;
    assert_eq!((s, codes(&b)), (401, vec!["00101".to_owned()]));
    let (s, _, b) = get(&up, &etab("12000101100010"), Some("garbage")).await;
    assert_eq!((s, codes(&b)), (401, vec!["00101".to_owned()]));
    let expired = token("expired").unwrap();
    let (s, _, b) = get(&up, &etab("12000101100010"), Some(&expired)).await;
    assert_eq!((s, codes(&b)), (401, vec!["00103".to_owned()]));
    let open_data = token("valid_open_data_only").unwrap();
    let (s, _, b) = get(&up, &etab("12000101100010"), Some(&open_data)).await;
    assert_eq!((s, codes(&b)), (403, vec!["00100".to_owned()]));

    let (s, _, b) = get(&up, &etab("1200010110001"), Some(&t)).await;
    assert_eq!((s, codes(&b)), (422, vec!["00302".to_owned()]));
    let (s, _, b) = get(
        &up,
        "/v3/insee/sirene/etablissements/12000101100010?non_diffusables=true",
        Some(&t),
    )
    .await;
    assert_eq!(s, 422);
    assert_eq!(codes(&b), vec!["00201", "00202", "00203"]);

    let (s, head, b) = get(&up, &etab("12000101100010"), Some(&t)).await;
    assert_eq!(s, 200);
    assert!(head.contains("ratelimit-limit: 250"), "{head}");
    assert!(head.contains("cache-control: no-store"), "{head}");
    assert_eq!(b["data"]["siret"], "12000101100010");
    let (s, _, b) = get(&up, &etab("73282932000074"), Some(&t)).await;
    assert_eq!((s, codes(&b)), (404, vec!["01003".to_owned()]));

    // A unité légale without its own fixture is the one nested in its établissement.
    let (s, _, b) = get(
        &up,
        &format!("/v3/insee/sirene/unites_legales/350051447?{PARAMS}"),
        Some(&t),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(b["data"]["siren"], "350051447");
    assert!(b["data"]["date_cessation"].is_null());

    let (s, _, b) = get(
        &up,
        &format!("/v4/djepva/api-association/associations/open_data/W301000624?{PARAMS}"),
        Some(&t),
    )
    .await;
    assert_eq!((s, b["data"]["siren"].as_str()), (200, Some("389486242")));
    assert_eq!(up.hits(), 10);
}

#[tokio::test]
async fn faults_on_chosen_identifiers() {
    let up = FakeApiEntreprise::start().await.unwrap();
    let t = valid_token();
    let target = format!("/v3/insee/sirene/etablissements/55204944776279?{PARAMS}");
    up.fail("55204944776279", Fault::ServerError(504));
    let (s, _, b) = get(&up, &target, Some(&t)).await;
    assert_eq!((s, codes(&b)), (504, vec!["01001".to_owned()]));
    up.fail("552049447", Fault::ServerError(502));
    up.heal("55204944776279");
    let (s, _, b) = get(&up, &target, Some(&t)).await;
    assert_eq!((s, codes(&b)), (502, vec!["01999".to_owned()]));
    up.heal("552049447");
    up.fail("55204944776279", Fault::RateLimited(12));
    let (s, head, _) = get(&up, &target, Some(&t)).await;
    assert_eq!(s, 429);
    assert!(head.contains("retry-after: 12"));
    up.heal("55204944776279");
    let (s, _, b) = get(&up, &target, Some(&t)).await;
    assert_eq!(
        (s, b["data"]["siret"].as_str()),
        (200, Some("55204944776279"))
    );
}
