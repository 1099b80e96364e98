//! Why a connection attempt failed, said so that a user can act on it: the cause (nothing
//! listening, a silent broker, a refused password, a certificate problem) rather than the
//! client library's variant name.

use std::time::Duration;

use rumqttc::{ConnectReturnCode, ConnectionError};

/// How long a connection attempt (TCP, TLS and CONNECT/CONNACK) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// One line naming the cause of `error`.
pub(crate) fn explain(error: &ConnectionError) -> String {
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

fn refused(code: ConnectReturnCode) -> &'static str {
    match code {
        ConnectReturnCode::BadUserNamePassword => {
            "the broker refused the user name or password (mqtt.username, mqtt.password or \
             mqtt.password_file)"
        }
        ConnectReturnCode::NotAuthorized => {
            "the broker refused this client: not authorized (check its credentials and ACL)"
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
    }
}
