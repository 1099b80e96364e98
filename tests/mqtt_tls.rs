//! `mqtts://` to a real Mosquitto with a TLS listener, a password file and an ACL, all made here:
//! a CA and certificates from Debian's openssl, users from mosquitto_passwd. Finals arrive over
//! TLS with `ca_file` + `password_file` and with mutual TLS; a wrong CA, a wrong host name, an
//! expired certificate, a wrong password and a missing client certificate each give their own
//! clear line and no crash;
//! an ACL-denied publish is acknowledged and dropped by Mosquitto, as docs/mqtt.md says.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::scratch_dir;
use common::stream::{
    Daemon, Received, Subscriber, config_head, free_port, one_at_a_time, run_ok, silence_wav,
    unique_prefix, utterances_wav,
};

const DEVICE: &str = "tlsbox";
const PASSWORD: &str = "correct horse battery";

fn openssl(dir: &Path, args: &[&str]) {
    run_ok(
        Command::new("openssl")
            .current_dir(dir)
            .args(args)
            .stdin(Stdio::null()),
    );
}

/// A CA (`ca.pem`), a server certificate for 127.0.0.1 and broker.test only (`server.pem`), the
/// same one expired in 2020 (`expired.pem`, back-dated with `openssl ca`), a client certificate
/// (`client.pem`), and a second, unrelated CA (`other-ca.pem`).
fn make_pki(dir: &Path) {
    for (name, subject) in [
        ("ca", "/CN=perceptd test CA"),
        ("other-ca", "/CN=someone else"),
    ] {
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "2",
                "-subj",
                subject,
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.pem"),
            ],
        );
    }
    for (name, subject, ext) in [
        (
            "server",
            "/CN=broker.test",
            "subjectAltName=IP:127.0.0.1,DNS:broker.test",
        ),
        ("client", "/CN=perceptd", "extendedKeyUsage=clientAuth"),
    ] {
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-subj",
                subject,
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
            ],
        );
        std::fs::write(dir.join(format!("{name}.ext")), format!("{ext}\n")).unwrap();
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                &format!("{name}.ext"),
                "-out",
                &format!("{name}.pem"),
            ],
        );
    }
    // The server certificate again, valid for one day in 2020: `openssl ca` can back-date.
    std::fs::write(dir.join("index.txt"), "").unwrap();
    std::fs::write(dir.join("serial"), "1000\n").unwrap();
    std::fs::write(
        dir.join("ca.cnf"),
        "[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\nserial=serial\nnew_certs_dir=.\n\
         default_md=sha256\npolicy=p\nunique_subject=no\n[p]\ncommonName=supplied\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "ca",
            "-batch",
            "-config",
            "ca.cnf",
            "-cert",
            "ca.pem",
            "-keyfile",
            "ca.key",
            "-in",
            "server.csr",
            "-out",
            "expired.pem",
            "-startdate",
            "20200101000000Z",
            "-enddate",
            "20200102000000Z",
            "-extfile",
            "server.ext",
        ],
    );
}

/// Mosquitto with a TLS listener (password), a TLS listener that also wants a client
/// certificate, and a plain listener for the test's own subscriber; users and an ACL.
struct TlsBroker {
    child: std::process::Child,
    tls_port: u16,
    mtls_port: u16,
    expired_port: u16,
    plain_port: u16,
    log: PathBuf,
}

impl TlsBroker {
    fn start(dir: &Path, prefix: &str) -> Self {
        let passwd = dir.join("passwd");
        for (n, (user, password)) in [
            ("perceptd", PASSWORD),
            ("limited", PASSWORD),
            ("admin", "admin"),
        ]
        .into_iter()
        .enumerate()
        {
            let mut cmd = Command::new("mosquitto_passwd");
            if n == 0 {
                cmd.arg("-c");
            }
            run_ok(cmd.arg("-b").arg(&passwd).args([user, password]));
        }
        std::fs::write(
            dir.join("acl"),
            format!(
                "user perceptd\ntopic readwrite {prefix}/#\n\nuser limited\ntopic read {prefix}/#\n\nuser admin\ntopic readwrite #\n"
            ),
        )
        .unwrap();
        let (tls_port, mtls_port, plain_port) = (free_port(), free_port(), free_port());
        let expired_port = free_port();
        let d = dir.display();
        let log = dir.join("mosquitto.log");
        std::fs::write(
            dir.join("mosquitto.conf"),
            format!(
                "per_listener_settings false\nallow_anonymous false\npassword_file {d}/passwd\nacl_file {d}/acl\n\
                 log_dest file {}\nlog_type all\n\
                 listener {tls_port} 127.0.0.1\ncafile {d}/ca.pem\ncertfile {d}/server.pem\nkeyfile {d}/server.key\n\
                 listener {mtls_port} 127.0.0.1\ncafile {d}/ca.pem\ncertfile {d}/server.pem\nkeyfile {d}/server.key\nrequire_certificate true\n\
                 listener {expired_port} 127.0.0.1\ncafile {d}/ca.pem\ncertfile {d}/expired.pem\nkeyfile {d}/server.key\n\
                 listener {plain_port} 127.0.0.1\n",
                log.display()
            ),
        )
        .unwrap();
        // Mosquitto drops root for its own user: everything it reads must be readable.
        for entry in std::fs::read_dir(dir).unwrap() {
            use std::os::unix::fs::PermissionsExt;
            let path = entry.unwrap().path();
            let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644));
        }
        std::fs::write(&log, "").unwrap();
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o666)).unwrap();
        }
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(dir.join("mosquitto.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("mosquitto");
        let deadline = Instant::now() + Duration::from_secs(10);
        for port in [tls_port, mtls_port, expired_port, plain_port] {
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(
                    Instant::now() < deadline,
                    "mosquitto with TLS did not start: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        TlsBroker {
            child,
            tls_port,
            mtls_port,
            expired_port,
            plain_port,
            log,
        }
    }
}

impl Drop for TlsBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn daemon_config(prefix: &str, state: &Path, wav: &Path, mqtt: &str) -> String {
    format!(
        "state_dir = \"{}\"\n{}\n[speech]\nthreads = 2\npartial_interval_ms = 0\n[[source]]\nkind = \"file\"\nname = \"clip\"\npath = \"{}\"\nrealtime = true\n",
        state.display(),
        config_head(DEVICE, prefix, mqtt),
        wav.display()
    )
}

fn finals(messages: &[Received], prefix: &str) -> usize {
    let topic = format!("{prefix}/{DEVICE}/audio/clip/transcript");
    messages.iter().filter(|m| m.topic == topic).count()
}

/// A daemon with `mqtt` lines on `wav`, in its own directory `dir/name` (config and outbox).
fn start_in(dir: &Path, name: &str, prefix: &str, wav: &Path, mqtt: &str) -> Daemon {
    let run_dir = dir.join(name);
    std::fs::create_dir_all(&run_dir).unwrap();
    Daemon::start(
        &run_dir,
        &daemon_config(prefix, &run_dir.join("state"), wav, mqtt),
    )
}

/// Starts a daemon with `mqtt` lines, waits for a log line containing `expect`, stops it; returns
/// the line.
fn expect_line(
    dir: &Path,
    name: &str,
    prefix: &str,
    wav: &Path,
    mqtt: &str,
    expect: &str,
) -> String {
    let mut daemon = start_in(dir, name, prefix, wav, mqtt);
    let line = daemon
        .log
        .wait_for(Duration::from_secs(60), |l| l.contains(expect))
        .unwrap_or_else(|| panic!("{name}: no line with {expect:?}"));
    assert!(
        daemon.exited().is_none(),
        "{name}: still running, not crashed"
    );
    daemon.sigterm();
    let status = daemon
        .wait(Duration::from_secs(15))
        .expect("stops on SIGTERM");
    assert!(status.success(), "{name}: {status:?}");
    line
}

#[test]
fn finals_arrive_over_mqtts_and_every_misconfiguration_says_what_is_wrong() {
    let _serial = one_at_a_time();
    let dir = scratch_dir("mqtt_tls");
    let pki = dir.join("pki");
    std::fs::create_dir_all(&pki).unwrap();
    make_pki(&pki);
    let prefix = unique_prefix("tls");
    let broker = TlsBroker::start(&pki, &prefix);
    let subscriber = Subscriber::start_with(
        broker.plain_port,
        &[&format!("{prefix}/#")],
        None,
        &["-u", "admin", "-P", "admin"],
    );
    let secret = dir.join("mqtt-password");
    std::fs::write(&secret, format!("{PASSWORD}\n")).unwrap();
    let (speech, _texts) = utterances_wav(&dir, &[0], 1.0, 1.5);
    let quiet = dir.join("quiet.wav");
    silence_wav(&quiet, 30.0);
    let p = pki.display();
    let s = secret.display();

    // 1. TLS + password from a file: the final arrives.
    let ok = format!(
        "url = \"mqtts://127.0.0.1:{}\"\nca_file = \"{p}/ca.pem\"\nusername = \"perceptd\"\npassword_file = \"{s}\"",
        broker.tls_port
    );
    let mut daemon = start_in(&dir, "ok", &prefix, &speech, &ok);
    assert!(
        subscriber.wait_until(Duration::from_secs(60), |m| finals(m, &prefix) >= 1),
        "a final over mqtts://; broker log: {}",
        std::fs::read_to_string(&broker.log).unwrap_or_default()
    );
    assert!(
        daemon
            .wait(Duration::from_secs(30))
            .is_some_and(|s| s.success())
    );

    // 2. Mutual TLS on the listener that requires a client certificate.
    let mtls = format!(
        "url = \"mqtts://127.0.0.1:{}\"\nca_file = \"{p}/ca.pem\"\nclient_cert_file = \"{p}/client.pem\"\nclient_key_file = \"{p}/client.key\"\nusername = \"perceptd\"\npassword_file = \"{s}\"",
        broker.mtls_port
    );
    let mut daemon = start_in(&dir, "mtls", &prefix, &speech, &mtls);
    assert!(
        subscriber.wait_until(Duration::from_secs(60), |m| finals(m, &prefix) >= 2),
        "a final over mutual TLS"
    );
    assert!(
        daemon
            .wait(Duration::from_secs(30))
            .is_some_and(|s| s.success())
    );

    // 3. What goes wrong, each named: (run, mqtt lines, the line names one of these causes).
    let with = |url: String, extra: &str| {
        format!("url = \"{url}\"\nusername = \"perceptd\"\npassword_file = \"{s}\"\n{extra}")
    };
    let tls_url = format!("mqtts://127.0.0.1:{}", broker.tls_port);
    let our_ca = format!("ca_file = \"{p}/ca.pem\"");
    let wrong = dir.join("wrong-password");
    std::fs::write(&wrong, "nope\n").unwrap();
    let cases: [(&str, String, &[&str]); 5] = [
        (
            "wrong_ca",
            with(tls_url.clone(), &format!("ca_file = \"{p}/other-ca.pem\"")),
            &["not signed by a trusted CA"],
        ),
        (
            "wrong_host",
            with(format!("mqtts://localhost:{}", broker.tls_port), &our_ca),
            &["not valid for the host name"],
        ),
        (
            "expired",
            with(
                format!("mqtts://127.0.0.1:{}", broker.expired_port),
                &our_ca,
            ),
            &["has expired"],
        ),
        (
            // Mosquitto 2 answers a wrong password "not authorized" (5), others "bad user name or
            // password" (4): both name the password.
            "wrong_password",
            format!(
                "url = \"{tls_url}\"\n{our_ca}\nusername = \"perceptd\"\npassword_file = \"{}\"",
                wrong.display()
            ),
            &["password"],
        ),
        (
            "no_client_cert",
            with(format!("mqtts://127.0.0.1:{}", broker.mtls_port), &our_ca),
            &["client certificate", "closed the connection"],
        ),
    ];
    for (name, mqtt, causes) in &cases {
        let line = expect_line(&dir, name, &prefix, &quiet, mqtt, "mqtt connect failed");
        assert!(causes.iter().any(|c| line.contains(c)), "{name}: {line}");
    }

    // 4. ACL: "limited" may not write. MQTT 3.1.1 has no way to say so: Mosquitto acknowledges
    // the PUBLISH and drops it (its log says "Denied PUBLISH"); perceptd counts it as delivered.
    let before = finals(&subscriber.messages(), &prefix);
    let acl = format!(
        "url = \"{tls_url}\"\nca_file = \"{p}/ca.pem\"\nusername = \"limited\"\npassword_file = \"{s}\""
    );
    let mut daemon = start_in(&dir, "acl", &prefix, &speech, &acl);
    assert!(
        daemon
            .wait(Duration::from_secs(60))
            .is_some_and(|s| s.success())
    );
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        finals(&subscriber.messages(), &prefix),
        before,
        "denied: nothing arrives"
    );
    let log = std::fs::read_to_string(&broker.log).unwrap_or_default();
    assert!(log.contains("Denied PUBLISH"), "Mosquitto logs the denial");
    assert!(
        daemon.final_counter("utterances_final").unwrap_or(0) >= 1,
        "the daemon made its final"
    );
}

#[test]
fn config_check_names_missing_and_malformed_tls_and_password_files() {
    let dir = scratch_dir("mqtt_tls_config_check");
    let not_pem = dir.join("not-a-cert.pem");
    std::fs::write(&not_pem, "hello\n").unwrap();
    let check = |mqtt: &str| {
        let path = dir.join("perceptd.toml");
        std::fs::write(&path, format!("[mqtt]\n{mqtt}\n")).unwrap();
        let out = common::perceptd()
            .args(["config", "check"])
            .arg(&path)
            .output()
            .unwrap();
        (out.status.success(), common::stderr(&out))
    };
    let (ok, err) = check(&format!(
        "url = \"mqtts://broker.test\"\nca_file = \"{}/missing-ca.pem\"\nusername = \"u\"\npassword_file = \"{}/missing-secret\"",
        dir.display(),
        dir.display()
    ));
    assert!(!ok);
    assert!(
        err.contains("mqtt.ca_file:") && err.contains("missing-ca.pem"),
        "{err}"
    );
    assert!(
        err.contains("mqtt.password_file:") && err.contains("missing-secret"),
        "{err}"
    );
    let (ok, err) = check(&format!(
        "url = \"mqtts://broker.test\"\nca_file = \"{}\"",
        not_pem.display()
    ));
    assert!(!ok);
    assert!(
        err.contains("mqtt.ca_file:") && err.contains("no PEM CERTIFICATE"),
        "{err}"
    );
    let (ok, err) = check("url = \"mqtt://broker.test\"\nca_file = \"/x.pem\"");
    assert!(!ok);
    assert!(
        err.contains("mqtt.ca_file: is set but mqtt.url is not mqtts://"),
        "{err}"
    );
    let (ok, err) =
        check("url = \"mqtt://b\"\nusername = \"u\"\npassword = \"p\"\npassword_file = \"/p\"");
    assert!(!ok);
    assert!(
        err.contains("mqtt.password_file: and mqtt.password are exclusive"),
        "{err}"
    );
}
