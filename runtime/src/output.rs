//! What truman prints on stdout: JSON for machines, runc's table for people.

use std::io::Write;

use libcontainer::container::ContainerState;
use serde::Serialize;

use crate::cli::ListFormat;

pub fn json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    out.write_all(b"\n")?;
    Ok(())
}

pub fn list(states: &[ContainerState], format: ListFormat, quiet: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if quiet {
        for s in states {
            writeln!(out, "{}", s.id)?;
        }
        return Ok(());
    }
    match format {
        ListFormat::Json => {
            serde_json::to_writer(&mut out, states)?;
            out.write_all(b"\n")?;
        }
        ListFormat::Table => {
            let rows: Vec<[String; 6]> = states
                .iter()
                .map(|s| {
                    [
                        s.id.clone(),
                        s.pid.to_string(),
                        s.status.to_string(),
                        s.bundle.display().to_string(),
                        s.created.clone(),
                        s.owner.clone(),
                    ]
                })
                .collect();
            let header = ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from);
            let mut widths = [0usize; 6];
            for row in std::iter::once(&header).chain(&rows) {
                for (w, cell) in widths.iter_mut().zip(row) {
                    *w = (*w).max(cell.len());
                }
            }
            for row in std::iter::once(&header).chain(&rows) {
                let line: Vec<String> = row
                    .iter()
                    .zip(widths)
                    .map(|(cell, w)| format!("{cell:<w$}"))
                    .collect();
                writeln!(out, "{}", line.join("   ").trim_end())?;
            }
        }
    }
    Ok(())
}
