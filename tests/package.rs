//! The Debian package, checked cheaply: cargo-deb packs this build's (debug) binary, staged where
//! it expects a release build (`--no-build`), and the package's metadata, files, modes and
//! maintainer scripts are read back with dpkg-deb. scripts/package.sh builds the real one (release,
//! stripped) from the same metadata (daemon/Cargo.toml, `[package.metadata.deb]`).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use common::{perceptd_bin, repo_root, scratch_dir};

/// The package's version: the workspace's, without a Debian revision.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A built package and the directory it is unpacked in.
struct Package {
    deb: PathBuf,
    root: PathBuf,
    control: PathBuf,
}

fn run(command: &mut Command) -> Output {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether `program args` runs here; says loudly on stderr when it does not.
fn available(program: &str, args: &[&str], why: &str) -> bool {
    let ok = Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!(
            "SKIPPED: `{program} {}` does not run here; {why}",
            args.join(" ")
        );
    }
    ok
}

fn dpkg_architecture() -> String {
    text(&run(Command::new("dpkg").arg("--print-architecture")))
        .trim()
        .to_string()
}

/// The package, built once per test binary; None (after a loud note) where cargo-deb or
/// dpkg-deb is missing.
fn package() -> Option<&'static Package> {
    static PACKAGE: OnceLock<Option<Package>> = OnceLock::new();
    PACKAGE
        .get_or_init(|| {
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let cargo = cargo.to_str().expect("a UTF-8 cargo path");
            if !available(
                cargo,
                &["deb", "--version"],
                "scripts/test.sh installs cargo-deb (scripts/install_cargo_deb.sh)",
            ) || !available("dpkg-deb", &["--version"], "install dpkg")
            {
                return None;
            }
            Some(build(cargo))
        })
        .as_ref()
}

fn build(cargo: &str) -> Package {
    let stage = scratch_dir("package");
    // cargo-deb takes `target/release/perceptd` from $CARGO_TARGET_DIR/release.
    let target = stage.join("target");
    std::fs::create_dir_all(target.join("release")).unwrap();
    std::fs::copy(perceptd_bin(), target.join("release/perceptd")).unwrap();
    let out_dir = stage.join("out");
    run(Command::new(cargo)
        .current_dir(repo_root())
        .env("CARGO_TARGET_DIR", &target)
        .args([
            "deb",
            "--locked",
            "-p",
            "perceptd",
            "--no-build",
            "--strip",
            "--fast",
        ])
        .arg("--output")
        .arg(&out_dir));
    let deb = out_dir.join(format!("perceptd_{VERSION}_{}.deb", dpkg_architecture()));
    assert!(deb.is_file(), "{} was not made", deb.display());
    let root = stage.join("root");
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root));
    let control = stage.join("control");
    run(Command::new("dpkg-deb").arg("-e").arg(&deb).arg(&control));
    Package { deb, root, control }
}

fn field(package: &Package, name: &str) -> String {
    text(&run(Command::new("dpkg-deb")
        .arg("--field")
        .arg(&package.deb)
        .arg(name)))
    .trim()
    .to_string()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_package_is_named_versioned_and_depends_on_what_models_fetch_runs() {
    let Some(package) = package() else { return };
    assert_eq!(field(package, "Package"), "perceptd");
    assert_eq!(field(package, "Version"), VERSION);
    assert_eq!(field(package, "Architecture"), dpkg_architecture());
    let depends = field(package, "Depends");
    let names: Vec<&str> = depends
        .split(',')
        .flat_map(|alternatives| alternatives.split('|'))
        .filter_map(|d| d.split_whitespace().next())
        .collect();
    for needed in [
        "libasound2",
        "libc6",
        "python3",
        "python3-venv",
        "python3-pip",
    ] {
        assert!(names.contains(&needed), "Depends lacks {needed}: {depends}");
    }
    assert!(names.contains(&"systemd"), "systemd-sysusers: {depends}");
}

#[test]
fn the_package_holds_the_binary_unit_user_config_and_docs_with_sane_modes() {
    let Some(package) = package() else { return };
    let listing = text(&run(Command::new("dpkg-deb")
        .arg("--contents")
        .arg(&package.deb)));
    // "-rwxr-xr-x 0/0   48571384 2026-12-03 00:00 ./usr/bin/perceptd"
    let entry = |path: &str| -> (String, String) {
        let line = listing
            .lines()
            .find(|l| l.ends_with(&format!(" .{path}")))
            .unwrap_or_else(|| panic!("{path} is not in the package:\n{listing}"));
        let mut words = line.split_whitespace();
        (words.next().unwrap().into(), words.next().unwrap().into())
    };
    let mut expected = vec![
        ("/usr/bin/perceptd", "-rwxr-xr-x"),
        ("/usr/lib/systemd/system/perceptd.service", "-rw-r--r--"),
        ("/usr/lib/sysusers.d/perceptd.conf", "-rw-r--r--"),
        ("/etc/perceptd/perceptd.toml", "-rw-r--r--"),
        ("/usr/share/doc/perceptd/README.md", "-rw-r--r--"),
        ("/usr/share/doc/perceptd/copyright", "-rw-r--r--"),
        (
            "/usr/share/doc/perceptd/examples/example-full.toml",
            "-rw-r--r--",
        ),
    ];
    let docs: Vec<String> = std::fs::read_dir(repo_root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".md"))
        .map(|name| format!("/usr/share/doc/perceptd/{name}"))
        .collect();
    assert!(!docs.is_empty());
    expected.extend(docs.iter().map(|d| (d.as_str(), "-rw-r--r--")));
    for (path, mode) in expected {
        assert_eq!(entry(path), (mode.to_string(), "0/0".to_string()), "{path}");
    }
    // Everything is root's; nothing is writable by others or setuid.
    for line in listing.lines() {
        let mode = line.split_whitespace().next().unwrap();
        assert!(line.contains(" 0/0 "), "{line}");
        assert!(!mode[1..].contains('s') && &mode[8..9] != "w", "{line}");
    }
    // The files are the repository's.
    for (inside, source) in [
        (
            "usr/lib/systemd/system/perceptd.service",
            "systemd/perceptd.service",
        ),
        (
            "usr/lib/sysusers.d/perceptd.conf",
            "systemd/perceptd.sysusers",
        ),
        ("etc/perceptd/perceptd.toml", "configs/packaged.toml"),
    ] {
        assert_eq!(
            read(&package.root.join(inside)),
            read(&repo_root().join(source)),
            "{inside}"
        );
    }
    // The unit runs the packaged binary on the packaged config.
    let unit = read(&package.root.join("usr/lib/systemd/system/perceptd.service"));
    assert!(
        unit.contains("\nExecStart=/usr/bin/perceptd run --config /etc/perceptd/perceptd.toml\n")
    );
    // The user: home /var/lib/perceptd, in the device groups.
    let sysusers = read(&package.root.join("usr/lib/sysusers.d/perceptd.conf"));
    let lines: Vec<Vec<&str>> = sysusers
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l[..2] == ["u", "perceptd"] && l.contains(&"/var/lib/perceptd")),
        "{sysusers}"
    );
    for group in ["audio", "video", "render"] {
        assert!(lines.contains(&vec!["m", "perceptd", group]), "{sysusers}");
    }
}

#[test]
fn the_packaged_binary_is_stripped_and_runs_the_packaged_config_check() {
    let Some(package) = package() else { return };
    let bin = package.root.join("usr/bin/perceptd");
    if available("readelf", &["--version"], "install binutils") {
        let sections = text(&run(Command::new("readelf").arg("-S").arg("-W").arg(&bin)));
        // (.debug_gdb_scripts is loaded data, kept by strip.)
        for debug in [" .debug_info ", " .debug_line ", " .debug_str "] {
            assert!(
                !sections.contains(debug),
                "{debug} left in the packaged binary:\n{sections}"
            );
        }
    }
    let version = text(&run(Command::new(&bin).arg("--version")));
    assert_eq!(version.trim(), format!("perceptd {VERSION}"));
    let check = text(&run(Command::new(&bin)
        .args(["config", "check"])
        .arg(package.root.join("etc/perceptd/perceptd.toml"))));
    assert!(check.contains(": ok"), "{check}");
}

#[test]
fn the_maintainer_scripts_create_the_user_and_state_dir_and_enable_the_service() {
    let Some(package) = package() else { return };
    let conffiles = read(&package.control.join("conffiles"));
    assert!(
        conffiles
            .lines()
            .any(|l| l == "/etc/perceptd/perceptd.toml"),
        "{conffiles}"
    );
    let postinst = read(&package.control.join("postinst"));
    for wanted in [
        "systemd-sysusers ${DPKG_ROOT:+--root=\"$DPKG_ROOT\"} perceptd.conf",
        "deb-systemd-helper enable perceptd.service",
        "systemctl --system daemon-reload",
        "deb-systemd-invoke $_dh_action perceptd.service",
        "install -d -m 0700 -o perceptd -g perceptd /var/lib/perceptd",
    ] {
        assert!(
            postinst.contains(wanted),
            "postinst lacks {wanted}:\n{postinst}"
        );
    }
    // The user exists before the service starts and before the state dir is given to it.
    let at = |s: &str| postinst.find(s).unwrap();
    assert!(at("systemd-sysusers") < at("deb-systemd-invoke"));
    assert!(at("systemd-sysusers") < at("install -d"));
    assert!(!postinst.contains("#DEBHELPER#"));
    let prerm = read(&package.control.join("prerm"));
    assert!(
        prerm.contains("deb-systemd-invoke stop perceptd.service"),
        "{prerm}"
    );
    let postrm = read(&package.control.join("postrm"));
    assert!(
        postrm.contains("deb-systemd-helper purge perceptd.service"),
        "{postrm}"
    );
    assert!(postrm.contains("rm -rf /var/lib/perceptd"), "{postrm}");
    for script in ["postinst", "prerm", "postrm"] {
        let path = package.control.join(script);
        run(Command::new("sh").arg("-n").arg(&path));
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&path).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o755, "{script}");
    }
}

#[test]
fn the_readme_installs_this_version_and_fetches_models_as_the_service_user() {
    let readme = read(&repo_root().join("README.md"));
    let deb = format!("perceptd_{VERSION}_amd64.deb");
    assert!(
        readme.contains(&format!("sudo apt install ./dist/{deb}")),
        "README.md names another package than {deb}"
    );
    assert!(
        readme.contains(
            "sudo -u perceptd perceptd models fetch --models-dir /var/lib/perceptd/models"
        )
    );
}
