//! A headless Chromium driven through chromedriver (both installed by `.ci/setup`).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::process::CommandExt;
use std::time::{Duration, Instant};

use serde_json::json;

use super::{Browser, TestApp};

/// A headless Chromium driven through chromedriver (installed by `.ci/setup`).
pub struct Chrome {
    driver: std::process::Child,
    pub client: fantoccini::Client,
}

impl Chrome {
    pub async fn start() -> Chrome {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let binary = std::env::var("DEMARCHES_TEST_CHROMEDRIVER")
            .unwrap_or_else(|_| "/usr/bin/chromedriver".to_owned());
        // Its own process group, so dropping the test ends Chromium too (chromedriver's
        // children outlive a killed chromedriver).
        let driver = std::process::Command::new(binary)
            .process_group(0)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("chromedriver (apt-get install chromium-driver)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = std::env::temp_dir().join(format!(
            "demarches-chromium-{}",
            uuid::Uuid::new_v4().simple()
        ));
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            json!({
                "binary": std::env::var("DEMARCHES_TEST_CHROMIUM")
                    .unwrap_or_else(|_| "/usr/bin/chromium".to_owned()),
                // Without the background-networking flags Chromium keeps trying to reach
                // the outside network, which this machine refuses.
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--disable-quic", "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.display()),
                ]
            }),
        );
        let client = fantoccini::ClientBuilder::new(
            hyper_util::client::legacy::connect::HttpConnector::new(),
        )
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("webdriver session");
        Chrome { driver, client }
    }

    /// Gives the real browser the session of a test `Browser`.
    pub async fn sign_in_as(&self, app: &TestApp, browser: &Browser) {
        use reqwest::cookie::CookieStore;
        let url: reqwest::Url = app.base.parse().unwrap();
        let header = browser.jar.cookies(&url).unwrap();
        let token = header
            .to_str()
            .unwrap()
            .split("; ")
            .find_map(|c| c.strip_prefix("demarches_session="))
            .unwrap()
            .to_owned();
        self.client
            .goto(&format!("{}/health", app.base))
            .await
            .unwrap();
        let cookie = fantoccini::cookies::Cookie::parse(format!(
            "demarches_session={token}; Path=/; Domain=127.0.0.1; SameSite=Lax"
        ))
        .unwrap();
        self.client.add_cookie(cookie).await.unwrap();
    }

    /// Types `value` into the field matching `css` (cleared first).
    pub async fn fill(&self, css: &str, value: &str) {
        let field = self
            .client
            .find(fantoccini::Locator::Css(css))
            .await
            .unwrap_or_else(|_| panic!("no field {css}"));
        field.clear().await.expect("clear");
        field.send_keys(value).await.expect("type");
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) {
        self.client
            .find(fantoccini::Locator::Css(css))
            .await
            .unwrap_or_else(|_| panic!("no element {css}"))
            .click()
            .await
            .expect("click");
    }

    /// Waits until the page's text contains `needle` (pages load after clicks); returns it.
    pub async fn wait_text(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(body) = self.client.find(fantoccini::Locator::Css("body")).await
                && let Ok(text) = body.text().await
                && text.contains(needle)
            {
                return text;
            }
            if Instant::now() > deadline {
                let source = self.client.source().await.unwrap_or_default();
                panic!("page never showed {needle:?}:\n{source}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn wait(&self) -> fantoccini::wait::Wait<'_> {
        self.client.wait().at_most(Duration::from_secs(20))
    }

    /// Types `typed` into the address champ `stable_id` (an ARIA combobox once the page's
    /// script ran) and waits for its first suggestion; returns the input and that option.
    pub async fn address_suggestion(
        &self,
        stable_id: i64,
        typed: &str,
    ) -> (fantoccini::elements::Element, fantoccini::elements::Element) {
        use fantoccini::Locator;
        let input = self
            .wait()
            .for_element(Locator::Css(&format!(
                "#champ_{stable_id}[role=combobox][aria-autocomplete=list]"
            )))
            .await
            .expect("the address input becomes a combobox");
        input.send_keys(typed).await.expect("typing");
        let option = self
            .wait()
            .for_element(Locator::Css(&format!(
                "#champ_{stable_id}-suggestions[role=listbox] [role=option]"
            )))
            .await
            .expect("a suggestion");
        (input, option)
    }

    pub async fn text(&self, css: &str) -> String {
        self.client
            .find(fantoccini::Locator::Css(css))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
}

impl Drop for Chrome {
    fn drop(&mut self) {
        // The whole group: chromedriver and the Chromium processes it started.
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
