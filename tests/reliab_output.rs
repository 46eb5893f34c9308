//! Output safety of the real binary: a full disk stops the run with a clear message and a state
//! `--resume` completes correctly; a read-only run directory is refused plainly. Both need a
//! small tmpfs (root or CAP_SYS_ADMIN); without one the tests say so and do not run.

use crate::reliab_resume::{finish, resume, scan_command, write_ca};
use crate::scan_lab::{assert_results_equal_truth, sample, tmp_dir};
use std::path::{Path, PathBuf};
use std::process::Command;
use stsmap::lab::world::{Profile, World};
use stsmap::lab::{Lab, LabConfig};

/// A tmpfs mounted for one test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    /// Mounts a tmpfs with `options` on a fresh directory, or says why it cannot.
    fn mount(name: &str, options: &str) -> Result<Tmpfs, String> {
        let dir = tmp_dir(name);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(&dir)
            .output()
            .map_err(|e| format!("running mount: {e}"))?;
        if out.status.success() {
            Ok(Tmpfs(dir))
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
        }
    }

    fn remount(&self, options: &str) {
        let ok = Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(ok.success(), "remount {options}");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn not_run(test: &str, why: &str) {
    eprintln!("NOT RUN: {test}: cannot mount a tmpfs ({why}); needs root or CAP_SYS_ADMIN");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_full_stops_the_run_with_a_clear_message_and_resume_completes_it() {
    let fs = match Tmpfs::mount("diskfull", "size=200k") {
        Ok(fs) => fs,
        Err(why) => return not_run("disk_full_…", &why),
    };
    let (profile, seed) = (Profile::Realistic, 5);
    let lab = Lab::start(LabConfig::loopback(profile, seed)).unwrap();
    let ca = write_ca(&lab, &tmp_dir("diskfull-ca"));
    let out = fs.0.join("run");
    let input = sample();
    let full = finish(scan_command(&lab, &ca, &input, &out).spawn().unwrap()).await;
    let stderr = String::from_utf8_lossy(&full.stderr);
    assert!(!full.status.success(), "a full disk must fail the run");
    assert!(
        stderr.contains("No space left on device")
            && stderr.contains("results.csv")
            && stderr.contains("--resume"),
        "the message names the cause and the file: {stderr}"
    );
    let partial = std::fs::read(out.join("results.csv")).unwrap();
    assert!(
        partial.len() > 1000,
        "rows were written before the disk filled"
    );

    fs.remount("size=20m");
    let resumed = resume(&lab, &ca, &input, &out).await;
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    assert_results_equal_truth(&out, &World::new(profile, seed), &input);
    lab.shutdown().await;
    std::fs::remove_dir_all(ca.parent().unwrap()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_run_directory_is_refused_with_the_path_and_the_cause() {
    let fs = match Tmpfs::mount("readonly", "size=1m,ro") {
        Ok(fs) => fs,
        Err(why) => return not_run("read_only_…", &why),
    };
    let lab = Lab::start(LabConfig::loopback(Profile::Realistic, 5)).unwrap();
    let ca = write_ca(&lab, &tmp_dir("readonly-ca"));
    let out: &Path = &fs.0.join("run");
    let r = finish(scan_command(&lab, &ca, &sample(), out).spawn().unwrap()).await;
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert!(!r.status.success());
    assert!(
        stderr.contains("Read-only file system") && stderr.contains(&*out.to_string_lossy()),
        "{stderr}"
    );
    lab.shutdown().await;
    std::fs::remove_dir_all(ca.parent().unwrap()).unwrap();
}
