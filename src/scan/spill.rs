//! Where finished rows wait for their turn in results.csv: in memory up to a budget, then in
//! an unlinked temporary file in the run directory.
//!
//! A domain that waits for its timeouts (a policy host that stalls for the whole `--timeout`)
//! holds up every row after it, and at tens of thousands of domains per second that is
//! hundreds of thousands of rows. Kept in memory they would make the peak RSS depend on how
//! such stalls happen to fall; here memory stays under the budget and the rest goes to disk,
//! read back once, in order, when its turn comes.
//!
//! Files are unlinked as soon as they are created: a crash leaves nothing behind (a resume
//! scans those domains again). A file is reused once none of its rows waits, and a new one is
//! started past [`ROTATE`] bytes so that one long stall cannot keep a file growing forever.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// A file stops taking rows past this size (the next one starts).
pub const ROTATE: u64 = 64 << 20;

/// A finished row waiting for its turn.
#[derive(Debug)]
pub enum Parked {
    /// In memory.
    Mem(Box<[u8]>),
    /// In spill file `generation`, at `offset`.
    Disk {
        generation: u64,
        offset: u64,
        len: u32,
    },
}

struct SpillFile {
    generation: u64,
    file: File,
    len: u64,
    /// Rows written to it and not yet taken.
    waiting: u64,
}

struct State {
    in_memory: usize,
    files: VecDeque<SpillFile>,
    next_generation: u64,
}

/// Parks rows and gives them back (see the module documentation).
pub struct Parking {
    budget: usize,
    dir: PathBuf,
    state: Mutex<State>,
}

impl Parking {
    /// Keeps up to `budget` bytes of rows in memory; spills the rest into files in `dir`.
    pub fn new(dir: &Path, budget: usize) -> Parking {
        Parking {
            budget,
            dir: dir.to_path_buf(),
            state: Mutex::new(State {
                in_memory: 0,
                files: VecDeque::new(),
                next_generation: 0,
            }),
        }
    }

    /// Parks one row.
    pub fn park(&self, row: Box<[u8]>) -> io::Result<Parked> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if st.in_memory + row.len() <= self.budget {
            st.in_memory += row.len();
            return Ok(Parked::Mem(row));
        }
        if st.files.back().is_none_or(|f| f.len >= ROTATE) {
            let generation = st.next_generation;
            st.next_generation += 1;
            let path = self
                .dir
                .join(format!(".spill-{}-{generation}", std::process::id()));
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)?;
            std::fs::remove_file(&path)?;
            st.files.push_back(SpillFile {
                generation,
                file,
                len: 0,
                waiting: 0,
            });
        }
        let f = st.files.back_mut().expect("a file was just ensured");
        let offset = f.len;
        f.file.write_all_at(&row, offset)?;
        f.len += row.len() as u64;
        f.waiting += 1;
        Ok(Parked::Disk {
            generation: f.generation,
            offset,
            len: row.len() as u32,
        })
    }

    /// Takes a parked row back.
    pub fn take(&self, parked: Parked) -> io::Result<Box<[u8]>> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (generation, offset, len) = match parked {
            Parked::Mem(row) => {
                st.in_memory -= row.len();
                return Ok(row);
            }
            Parked::Disk {
                generation,
                offset,
                len,
            } => (generation, offset, len),
        };
        let Some(i) = st.files.iter().position(|f| f.generation == generation) else {
            return Err(io::Error::other("a spilled row's file is gone"));
        };
        let mut row = vec![0u8; len as usize].into_boxed_slice();
        st.files[i].file.read_exact_at(&mut row, offset)?;
        st.files[i].waiting -= 1;
        // Drop drained files from the front; the last one is emptied and reused.
        while st.files.front().is_some_and(|f| f.waiting == 0) {
            if st.files.len() == 1 {
                let f = &mut st.files[0];
                if f.len > 0 {
                    f.file.set_len(0)?;
                    f.len = 0;
                }
                break;
            }
            st.files.pop_front();
        }
        Ok(row)
    }

    /// Spill files open now (for tests).
    pub fn files(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .files
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(i: u32) -> Box<[u8]> {
        format!("{i},domain-{i}.example,ok\n").into_bytes().into()
    }

    #[test]
    fn rows_past_the_budget_go_to_disk_and_come_back_unchanged() {
        let dir = std::env::temp_dir().join(format!("stsmap-spill-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = Parking::new(&dir, 100);
        let parked: Vec<Parked> = (0..1000).map(|i| p.park(row(i)).unwrap()).collect();
        let on_disk = parked
            .iter()
            .filter(|x| matches!(x, Parked::Disk { .. }))
            .count();
        assert!(on_disk > 990, "{on_disk} rows spilled");
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            0,
            "spill files are unlinked"
        );
        for (i, x) in parked.into_iter().enumerate() {
            assert_eq!(p.take(x).unwrap(), row(i as u32));
        }
        assert_eq!(p.files(), 1, "the drained file is kept for reuse");
        // Reused from offset 0, and memory is free again.
        assert!(matches!(p.park(row(1)).unwrap(), Parked::Mem(_)));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
