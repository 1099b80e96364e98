//! Why a connection attempt failed, said so that a user can act on it: the cause (nothing
//! listening, a silent broker, a refused password, a certificate problem) rather than the
//! client library's variant name.

use std::time::Duration;

use rumqttc::{ConnectReturnCode, ConnectionError, TlsError};
use rustls::{AlertDescription, CertificateError};

/// How long a connection attempt (TCP, TLS and CONNECT/CONNACK) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// One line naming the cause of `error`.
pub(crate) fn explain(error: &ConnectionError) -> String {
    if let Some(tls) = rustls_error(error) {
        return format!("TLS: {}", explain_tls(tls));
    }
    match error {
        ConnectionError::NetworkTimeout => format!(
            "no CONNACK within {} s: the broker accepted the connection but did not answer \
             (not an MQTT listener, a TLS port without mqtts://, or overloaded)",
            CONNECT_TIMEOUT.as_secs()
        ),
        ConnectionError::ConnectionRefused(code) => refused(*code).to_string(),
        ConnectionError::Io(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused: nothing listens on that port (is the broker running?)".into()
        }
        ConnectionError::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            "the broker closed the connection before its CONNACK (a TLS listener without \
             mqtts://, or it refused us)"
                .into()
        }
        other => other.to_string(),
    }
}

/// The rustls error inside `error`, wherever rumqttc put it (a TLS error, or an I/O error
/// wrapping one, perhaps inside a state or (de)serialization error).
fn rustls_error(error: &ConnectionError) -> Option<&rustls::Error> {
    if let ConnectionError::Tls(TlsError::TLS(e)) = error {
        return Some(e);
    }
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = next {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && let Some(tls) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>())
        {
            return Some(tls);
        }
        next = e.source();
    }
    None
}

fn explain_tls(error: &rustls::Error) -> String {
    match error {
        rustls::Error::InvalidCertificate(cert) => match cert {
            CertificateError::UnknownIssuer => "the broker's certificate is not signed by a \
                trusted CA (set mqtt.ca_file to the CA that signed it)"
                .into(),
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                "the broker's certificate is not valid for the host name in mqtt.url (use the \
                 name its subjectAltName lists)"
                    .into()
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                "the broker's certificate has expired (or this box's clock is wrong)".into()
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "the broker's certificate is not valid yet (is this box's clock right?)".into()
            }
            other => format!("the broker's certificate was rejected: {other:?}"),
        },
        rustls::Error::AlertReceived(
            AlertDescription::CertificateRequired | AlertDescription::HandshakeFailure,
        ) => "the broker ended the handshake: it wants a client certificate \
              (mqtt.client_cert_file + mqtt.client_key_file), or they do not fit"
            .into(),
        rustls::Error::AlertReceived(
            AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateUnknown,
        ) => "the broker rejected our client certificate (is it signed by the CA the broker \
              trusts?)"
            .into(),
        other => other.to_string(),
    }
}

fn refused(code: ConnectReturnCode) -> &'static str {
    match code {
        ConnectReturnCode::BadUserNamePassword => {
            "the broker refused the user name or password (mqtt.username, mqtt.password or \
             mqtt.password_file)"
        }
        ConnectReturnCode::NotAuthorized => {
            "the broker refused this client: not authorized (a wrong user name or password: \
             mqtt.username, mqtt.password or mqtt.password_file; Mosquitto answers a wrong \
             password so)"
        }
        ConnectReturnCode::BadClientId => {
            "the broker refused the client id (mqtt.client_id; is it too long or in use?)"
        }
        ConnectReturnCode::ServiceUnavailable => "the broker is unavailable (it said so)",
        ConnectReturnCode::RefusedProtocolVersion => {
            "the broker refused MQTT 3.1.1 (the protocol version perceptd speaks)"
        }
        ConnectReturnCode::Success => "the broker answered success yet closed the connection",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_are_named() {
        assert!(explain(&ConnectionError::NetworkTimeout).contains("no CONNACK within 5 s"));
        let refused = ConnectionError::ConnectionRefused(ConnectReturnCode::BadUserNamePassword);
        assert!(explain(&refused).contains("user name or password"));
        let io = ConnectionError::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert!(explain(&io).contains("nothing listens"));
        let unknown = ConnectionError::Io(std::io::Error::other(
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
        ));
        assert!(
            explain(&unknown).contains("not signed by a trusted CA"),
            "{}",
            explain(&unknown)
        );
        let name = ConnectionError::Tls(TlsError::TLS(rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName,
        )));
        assert!(explain(&name).contains("not valid for the host name"));
    }
}
