//! The systemd unit runs commands perceptd has, and passes `systemd-analyze verify` where that
//! tool exists.

mod common;

use std::process::Command;

use common::{perceptd, repo_root};

#[test]
fn the_unit_runs_config_check_before_run_and_is_type_notify() {
    let unit = std::fs::read_to_string(repo_root().join("systemd/perceptd.service")).unwrap();
    assert!(unit.contains("Type=notify"));
    let pre = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStartPre="))
        .expect("ExecStartPre");
    let start = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart");
    for (line, words) in [(pre, ["config", "check"]), (start, ["run", "--config"])] {
        let args: Vec<&str> = line.split_whitespace().skip(1).collect();
        assert_eq!(&args[..2], &words, "{line}");
    }
    // The subcommands exist in this binary.
    for sub in [["config", "check"], ["run", "--config"]] {
        let out = perceptd().arg(sub[0]).arg("--help").output().unwrap();
        assert!(out.status.success(), "perceptd {} --help", sub[0]);
        assert!(String::from_utf8_lossy(&out.stdout).contains(sub[1]));
    }
}

#[test]
fn systemd_analyze_verify_accepts_the_unit_where_available() {
    let Ok(out) = Command::new("systemd-analyze").arg("--version").output() else {
        eprintln!("systemd-analyze is not installed here; only the static checks ran");
        return;
    };
    if !out.status.success() {
        return;
    }
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(repo_root().join("systemd/perceptd.service"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    // The binary path and the user need not exist on a build machine; anything else is a defect.
    let real_problems: Vec<&str> = err
        .lines()
        .filter(|l| {
            !l.contains("/usr/local/bin/perceptd") && !l.contains("perceptd.service: Failed to")
        })
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert!(real_problems.is_empty(), "systemd-analyze verify:\n{err}");
}
