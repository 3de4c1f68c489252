//! The `tandem-relay` binary as a script or the conformance runner sees it
//! (spec §12.6, [CONF-12], [CONF-13]): one `ready <url> NAME=VALUE...` line
//! on standard output once it accepts connections, then a served
//! `/healthz`, and a clean exit on SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

#[test]
fn the_binary_writes_a_ready_line_serves_and_stops_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tandem-relay"))
        .args(["--listen", "127.0.0.1:0", "--idle-timeout", "5s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the relay starts");
    let stdout = child.stdout.take().expect("its standard output");
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let ready = received
        .recv_timeout(Duration::from_secs(20))
        .expect("a ready line");
    let mut words = ready.split(' ');
    assert_eq!(words.next(), Some("ready"), "{ready}");
    let url = words.next().expect("a URL");
    let address = url
        .strip_prefix("ws://")
        .and_then(|rest| rest.strip_suffix('/'))
        .expect("ws://ADDR/");
    let declared: Vec<&str> = words.collect();
    assert!(declared.contains(&"IDLE_TIMEOUT=5000"), "{ready}");
    assert!(declared.contains(&"MAX_CONNECTIONS=20000"), "{ready}");

    let mut stream = TcpStream::connect(address).expect("it accepts connections");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("a read timeout");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\r\n")
        .expect("a request");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");

    let terminated = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(terminated.success());
    let (done, exited) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait());
    });
    let status = exited
        .recv_timeout(Duration::from_secs(10))
        .expect("it exits within 10 s of SIGTERM [CONF-13]")
        .expect("its exit status");
    assert!(status.success(), "{status}");
}
