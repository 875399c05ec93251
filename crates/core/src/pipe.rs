//! A bounded in-process byte pipe between two threads, for the lanes of the
//! `records` layout.

use std::io::{self, Read, Write};

use crossbeam_channel::{bounded, Receiver, Sender};

/// Buffers the writer collects before handing them to the reader.
const PIECE: usize = 1 << 20;

/// A pipe with at most `depth` pieces queued, plus the one being filled and
/// the one being read. A piece is at least 1 MiB unless it is the last; one
/// `write` larger than that makes one larger piece.
pub(crate) fn pipe(depth: usize) -> (PipeWriter, PipeReader) {
    let (tx, rx) = bounded(depth);
    (
        PipeWriter {
            tx: Some(tx),
            buf: Vec::new(),
        },
        PipeReader {
            rx,
            cur: Vec::new(),
            pos: 0,
        },
    )
}

/// The writing end; dropping it (or [`close`](PipeWriter::close)) is end of file.
pub(crate) struct PipeWriter {
    tx: Option<Sender<Vec<u8>>>,
    buf: Vec<u8>,
}

impl PipeWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let piece = std::mem::replace(&mut self.buf, Vec::with_capacity(PIECE));
        match &self.tx {
            Some(tx) => tx.send(piece).map_err(|_| io::ErrorKind::BrokenPipe.into()),
            None => Err(io::ErrorKind::BrokenPipe.into()),
        }
    }

    /// Sends what is buffered and signals end of file.
    pub(crate) fn close(mut self) -> io::Result<()> {
        let r = self.send();
        self.tx = None;
        r
    }
}

impl Write for PipeWriter {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(b);
        if self.buf.len() >= PIECE {
            self.send()?;
        }
        Ok(b.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// The reading end.
pub(crate) struct PipeReader {
    rx: Receiver<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
}

impl Read for PipeReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.cur.len() {
            match self.rx.recv() {
                Ok(piece) => {
                    self.cur = piece;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = out.len().min(self.cur.len() - self.pos);
        out[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_cross_in_order_and_close_is_eof() {
        let (mut w, mut r) = pipe(2);
        let data: Vec<u8> = (0..3_000_000u32).map(|i| i as u8).collect();
        let d2 = data.clone();
        let t = std::thread::spawn(move || {
            for c in d2.chunks(77_777) {
                w.write_all(c).unwrap();
            }
            w.close().unwrap();
        });
        let mut got = Vec::new();
        r.read_to_end(&mut got).unwrap();
        t.join().unwrap();
        assert_eq!(got, data);
    }
}
