//! `[metrics] listen`: the real binary streams the demo speech clip (embedded broker) and serves
//! `/metrics`; the test scrapes it over plain TCP, parses the Prometheus text format with its own
//! small parser and checks the counters, the gauges and that every histogram is consistent. A port
//! already taken is one error line, and the daemon runs on without metrics.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::scratch_dir;
use common::stream::{Daemon, config_head, free_port, one_at_a_time, unique_prefix};

/// A daemon looping the demo speech clip in real time on the embedded broker, `/metrics` on
/// `listen`.
fn config(listen: &str) -> String {
    let head = config_head("metricsbox", &unique_prefix("metrics"), "");
    let clip = common::repo_root().join("configs/demo-speech.wav");
    format!(
        r#"{head}
[metrics]
listen = "{listen}"
[speech]
threads = 2
[[source]]
kind = "file"
name = "clip"
path = "{}"
realtime = true
loop = true
"#,
        clip.display()
    )
}

/// One HTTP/1.1 request over plain TCP: the status line, the headers (lower-cased names) and
/// the body.
fn http(port: u16, request: &str) -> (String, BTreeMap<String, String>, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to /metrics");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read the response");
    let text = String::from_utf8(raw).expect("a UTF-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("a header block");
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, body.to_string())
}

/// One sample line: `name{labels} value`.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// `(le, cumulative count)` of one histogram series.
type Buckets = Vec<(f64, f64)>;

/// A parsed exposition: `# TYPE` and `# HELP` per metric family, and every sample.
#[derive(Debug, Default)]
struct Exposition {
    types: BTreeMap<String, String>,
    helps: BTreeMap<String, String>,
    samples: Vec<Sample>,
}

/// Parses the Prometheus text format (version 0.0.4) strictly enough to catch a broken page:
/// every line is a `# HELP`, a `# TYPE`, another comment, blank, or a well-formed sample.
fn parse(text: &str) -> Exposition {
    let mut out = Exposition::default();
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            out.helps.insert(name.into(), help.into());
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("# TYPE name kind");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "unknown type in {line:?}"
            );
            out.types.insert(name.into(), kind.into());
        } else if line.starts_with('#') {
            continue;
        } else {
            out.samples.push(parse_sample(line));
        }
    }
    out
}

fn parse_sample(line: &str) -> Sample {
    let (series, value) = line
        .rsplit_once(' ')
        .unwrap_or_else(|| panic!("no value: {line:?}"));
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v
            .parse()
            .unwrap_or_else(|_| panic!("bad value in {line:?}")),
    };
    let (name, labels) = match series.split_once('{') {
        None => (series, BTreeMap::new()),
        Some((name, rest)) => {
            let inner = rest
                .strip_suffix('}')
                .unwrap_or_else(|| panic!("unclosed labels: {line:?}"));
            (name, parse_labels(inner, line))
        }
    };
    assert!(
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
        "bad metric name in {line:?}"
    );
    Sample {
        name: name.into(),
        labels,
        value,
    }
}

/// `k="v",k2="v2"` (values may hold escaped quotes and commas).
fn parse_labels(inner: &str, line: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut rest = inner;
    while !rest.is_empty() {
        let (key, after) = rest
            .split_once("=\"")
            .unwrap_or_else(|| panic!("bad label in {line:?}"));
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c)) => value.push(c),
                    None => panic!("dangling escape in {line:?}"),
                },
                Some((i, '"')) => break i,
                Some((_, c)) => value.push(c),
                None => panic!("unterminated label value in {line:?}"),
            }
        };
        labels.insert(key.to_string(), value);
        rest = after[end + 1..].trim_start_matches(',');
    }
    labels
}

impl Exposition {
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.samples
            .iter()
            .find(|s| {
                s.name == name
                    && labels.len() == s.labels.len()
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| s.value)
    }

    /// Checks every histogram: per label set, buckets cumulative in `le` order, the `+Inf`
    /// bucket equal to `_count`, a non-negative `_sum`. Returns `(family, labels, count)`.
    fn check_histograms(&self) -> Vec<(String, BTreeMap<String, String>, f64)> {
        let mut checked = Vec::new();
        for (family, kind) in &self.types {
            if kind != "histogram" {
                continue;
            }
            let mut series: BTreeMap<Vec<(String, String)>, Buckets> = BTreeMap::new();
            for s in self
                .samples
                .iter()
                .filter(|s| s.name == format!("{family}_bucket"))
            {
                let le = s.labels.get("le").expect("a bucket has le");
                let le: f64 = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().unwrap()
                };
                let key = s
                    .labels
                    .iter()
                    .filter(|(k, _)| *k != "le")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                series.entry(key).or_default().push((le, s.value));
            }
            assert!(!series.is_empty(), "histogram {family} has no buckets");
            for (key, mut buckets) in series {
                buckets.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
                assert!(
                    buckets.windows(2).all(|w| w[0].1 <= w[1].1),
                    "{family}{key:?}: buckets not cumulative: {buckets:?}"
                );
                let labels: Vec<(&str, &str)> =
                    key.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                let count = self
                    .value(&format!("{family}_count"), &labels)
                    .unwrap_or_else(|| panic!("{family}{key:?} has no _count"));
                let sum = self
                    .value(&format!("{family}_sum"), &labels)
                    .unwrap_or_else(|| panic!("{family}{key:?} has no _sum"));
                let (last_le, last) = *buckets.last().unwrap();
                assert!(last_le.is_infinite(), "{family}{key:?}: no +Inf bucket");
                assert_eq!(last, count, "{family}{key:?}: +Inf bucket != _count");
                assert!(
                    sum >= 0.0 && (count > 0.0 || sum == 0.0),
                    "{family}{key:?}: sum {sum}"
                );
                checked.push((family.clone(), key.into_iter().collect(), count));
            }
        }
        checked
    }
}

/// Scrapes until `pred` holds for the parsed page (the daemon needs a final first).
fn scrape_until(port: u16, timeout: Duration, pred: impl Fn(&Exposition) -> bool) -> Exposition {
    let deadline = Instant::now() + timeout;
    loop {
        let (status, _, body) = http(port, "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n");
        assert_eq!(status, "HTTP/1.1 200 OK");
        let page = parse(&body);
        if pred(&page) || Instant::now() > deadline {
            return page;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn metrics_are_scraped_parsed_and_consistent_after_a_final() {
    let _one = one_at_a_time();
    let dir = scratch_dir("metrics-scrape");
    let port = free_port();
    let mut daemon = Daemon::start(&dir, &config(&format!("127.0.0.1:{port}")));
    daemon
        .log
        .wait_for(Duration::from_secs(120), |l| {
            l.contains("metrics on http://127.0.0.1:")
        })
        .expect("the daemon announces /metrics");

    let (status, headers, body) = http(port, "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(
        headers.get("content-type").map(String::as_str),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert_eq!(headers.get("connection").map(String::as_str), Some("close"));
    assert_eq!(
        headers
            .get("content-length")
            .map(|v| v.parse::<usize>().unwrap()),
        Some(body.len())
    );
    let (not_found, _, _) = http(port, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(not_found, "HTTP/1.1 404 Not Found");

    let latency_count = |p: &Exposition| {
        p.value(
            "perceptd_final_latency_seconds_count",
            &[("source", "clip")],
        )
        .unwrap_or(0.0)
    };
    let page = scrape_until(port, Duration::from_secs(120), |p| latency_count(p) > 0.0);
    assert!(
        latency_count(&page) > 0.0,
        "no final within 120 s: {page:?}"
    );

    for (family, kind) in &page.types {
        assert!(page.helps.contains_key(family), "{family} has no # HELP");
        if kind == "counter" {
            assert!(family.ends_with("_total"), "counter {family} lacks _total");
        }
    }
    for counter in [
        "perceptd_audio_samples_in_total",
        "perceptd_utterances_final_total",
        "perceptd_mqtt_published_total",
        "perceptd_dropped_audio_ms_total",
        "perceptd_frames_analyzed_total",
    ] {
        assert_eq!(
            page.types.get(counter).map(String::as_str),
            Some("counter"),
            "{counter}"
        );
        assert!(
            page.value(counter, &[]).is_some(),
            "no sample for {counter}"
        );
    }
    assert!(page.value("perceptd_audio_samples_in_total", &[]).unwrap() > 0.0);
    assert!(page.value("perceptd_utterances_final_total", &[]).unwrap() >= 1.0);
    assert_eq!(page.value("perceptd_mqtt_broker_connected", &[]), Some(1.0));
    assert_eq!(
        page.types
            .get("perceptd_mqtt_broker_connected")
            .map(String::as_str),
        Some("gauge")
    );
    let stage = page
        .samples
        .iter()
        .find(|s| {
            s.name == "perceptd_stage_progress_age_seconds"
                && s.labels.get("stage").map(String::as_str) == Some("inference")
        })
        .expect("the worker's progress age");
    assert!(stage.value >= 0.0);

    let histograms = page.check_histograms();
    let families: Vec<&str> = histograms.iter().map(|(f, _, _)| f.as_str()).collect();
    for family in [
        "perceptd_final_latency_seconds",
        "perceptd_inference_seconds",
    ] {
        assert!(families.contains(&family), "{family} missing: {families:?}");
    }
    let final_jobs = histograms
        .iter()
        .find(|(f, l, _)| {
            f == "perceptd_inference_seconds" && l.get("kind").map(String::as_str) == Some("final")
        })
        .map(|(_, _, count)| *count)
        .expect("inference_seconds{kind=final}");
    let early_jobs = page
        .value("perceptd_inference_seconds_count", &[("kind", "early")])
        .unwrap_or(0.0);
    assert!(
        final_jobs + early_jobs >= 1.0,
        "a final was transcribed (as itself or early)"
    );

    daemon.sigterm();
    let status = daemon
        .wait(Duration::from_secs(30))
        .expect("exits after SIGTERM");
    assert!(status.success(), "{status:?}");
}

#[test]
fn a_port_already_taken_is_one_error_line_and_the_daemon_runs_on() {
    let _one = one_at_a_time();
    let dir = scratch_dir("metrics-taken");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let mut daemon = Daemon::start(&dir, &config(&format!("127.0.0.1:{port}")));
    let error = daemon
        .log
        .wait_for(Duration::from_secs(120), |l| l.contains("metrics.listen:"))
        .expect("one line about the metrics port");
    assert!(error.contains("ERROR"), "{error}");
    assert!(
        error.contains(&format!("cannot listen on 127.0.0.1:{port}"))
            && error.contains("running without /metrics"),
        "{error}"
    );
    daemon
        .log
        .wait_for(Duration::from_secs(120), |l| l.contains("final transcript"))
        .expect("the daemon transcribes on without metrics");
    assert!(daemon.exited().is_none(), "the daemon is still running");
    let problems: Vec<String> = daemon
        .log
        .snapshot()
        .into_iter()
        .filter(|l| l.contains("ERROR") || l.contains("WARN"))
        .collect();
    assert_eq!(problems.len(), 1, "one problem line: {problems:?}");
    daemon.sigterm();
    let status = daemon
        .wait(Duration::from_secs(30))
        .expect("exits after SIGTERM");
    assert!(status.success(), "{status:?}");
    drop(taken);
}
