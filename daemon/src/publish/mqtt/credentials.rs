//! The connection's secrets. TLS to the broker (`mqtts://`): rustls with the ring provider, installed once per process
//! (two providers, or none, make rustls panic), and the client configuration built from
//! `mqtt.ca_file` (else the system's roots) and `mqtt.client_cert_file` + `client_key_file`.
//! The password, from `mqtt.password_file` or `mqtt.password`. Everything is read and parsed
//! when the config is compiled, so `perceptd config check` names a missing or malformed file.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::{Arc, Once};

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};

use super::config::MqttConfig;

/// Installs ring as rustls's process-wide crypto provider (once; later calls do nothing).
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Err only when a provider is already installed: then that one is used.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Why the TLS or password settings cannot be used: one line naming the key and the file.
#[derive(Debug, thiserror::Error)]
#[error("{key}: {message}")]
pub struct CredentialsError {
    /// The config key (`mqtt.ca_file`, ...).
    pub key: &'static str,
    /// What is wrong, with the file's path.
    pub message: String,
}

/// The rustls client configuration for `cfg` (which should name an `mqtts://` broker).
pub fn client_config(cfg: &MqttConfig) -> Result<Arc<ClientConfig>, CredentialsError> {
    install_crypto_provider();
    let roots = match &cfg.ca_file {
        Some(path) => roots_from_file(path)?,
        None => system_roots()?,
    };
    let builder = ClientConfig::builder().with_root_certificates(roots);
    let config = match (&cfg.client_cert_file, &cfg.client_key_file) {
        (Some(cert), Some(key)) => {
            let chain = read_certs(cert, "mqtt.client_cert_file")?;
            let key_der = read_key(key)?;
            builder
                .with_client_auth_cert(chain, key_der)
                .map_err(|e| CredentialsError {
                    key: "mqtt.client_key_file",
                    message: format!("{} does not fit {}: {e}", key.display(), cert.display()),
                })?
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

fn roots_from_file(path: &Path) -> Result<RootCertStore, CredentialsError> {
    let mut roots = RootCertStore::empty();
    for cert in read_certs(path, "mqtt.ca_file")? {
        roots.add(cert).map_err(|e| CredentialsError {
            key: "mqtt.ca_file",
            message: format!("{}: not a usable CA certificate: {e}", path.display()),
        })?;
    }
    Ok(roots)
}

fn system_roots() -> Result<RootCertStore, CredentialsError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        return Err(CredentialsError {
            key: "mqtt.ca_file",
            message: format!(
                "is not set and the system has no trusted CA certificates ({}); install \
                 ca-certificates or name the broker's CA in mqtt.ca_file",
                found
                    .errors
                    .first()
                    .map_or_else(|| "none found".to_string(), ToString::to_string)
            ),
        });
    }
    Ok(roots)
}

fn open(path: &Path, key: &'static str) -> Result<BufReader<File>, CredentialsError> {
    File::open(path)
        .map(BufReader::new)
        .map_err(|e| CredentialsError {
            key,
            message: format!("{}: {e}", path.display()),
        })
}

fn read_certs(
    path: &Path,
    key: &'static str,
) -> Result<Vec<CertificateDer<'static>>, CredentialsError> {
    let certs: Result<Vec<_>, _> = rustls_pemfile::certs(&mut open(path, key)?).collect();
    let certs = certs.map_err(|e| CredentialsError {
        key,
        message: format!("{}: not PEM: {e}", path.display()),
    })?;
    if certs.is_empty() {
        return Err(CredentialsError {
            key,
            message: format!("{}: no PEM CERTIFICATE in it", path.display()),
        });
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, CredentialsError> {
    const KEY: &str = "mqtt.client_key_file";
    rustls_pemfile::private_key(&mut open(path, KEY)?)
        .map_err(|e| CredentialsError {
            key: KEY,
            message: format!("{}: not PEM: {e}", path.display()),
        })?
        .ok_or_else(|| CredentialsError {
            key: KEY,
            message: format!("{}: no PEM private key in it", path.display()),
        })
}

/// Every problem with the TLS files and the password file of `cfg`, as `key: problem` lines.
pub fn check_files(cfg: &MqttConfig) -> Vec<String> {
    let mut problems = Vec::new();
    if cfg.uses_tls()
        && let Err(e) = client_config(cfg)
    {
        problems.push(e.to_string());
    }
    if let Err(e) = password(cfg) {
        problems.push(e.to_string());
    }
    problems
}

/// The password from `mqtt.password_file` (a trailing newline dropped), else `mqtt.password`.
pub fn password(cfg: &MqttConfig) -> Result<Option<String>, CredentialsError> {
    let Some(path) = &cfg.password_file else {
        return Ok(cfg.password.clone());
    };
    let text = std::fs::read_to_string(path).map_err(|e| CredentialsError {
        key: "mqtt.password_file",
        message: format!("{}: {e}", path.display()),
    })?;
    let text = text.strip_suffix('\n').unwrap_or(&text);
    let text = text.strip_suffix('\r').unwrap_or(text);
    Ok(Some(text.to_owned()))
}
