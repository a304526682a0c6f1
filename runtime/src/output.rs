//! What truman prints on stdout: JSON for machines, runc's table for people.

use std::io::Write;

use libcontainer::container::ContainerState;
use serde::Serialize;

use crate::cli::ListFormat;

/// `value` as indented JSON, in one write: stdout writes each line alone otherwise.
pub fn json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let mut text = serde_json::to_vec_pretty(value)?;
    text.push(b'\n');
    std::io::stdout().lock().write_all(&text)?;
    Ok(())
}

/// `features`, indented as runc prints it, without the fields truman leaves unset
/// (the spec's "unknown"), which oci-spec would print as `null`.
pub fn features(features: &libcontainer::spec::Features) -> anyhow::Result<()> {
    fn without_nulls(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                map.retain(|_, v| !v.is_null());
                map.values_mut().for_each(without_nulls);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(without_nulls),
            _ => {}
        }
    }
    let mut value = serde_json::to_value(features)?;
    without_nulls(&mut value);
    json(&value)
}

/// One compact JSON value and a newline (what go-runc's `Ps` decodes).
pub fn json_line<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, value)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// One `events` line, flushed at once: a reader follows the stream as it comes.
pub fn event_line(event: &libcontainer::container::Event) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, event)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// The lines of `ps ARGS` (default `-ef`) whose PID is one of `pids`, with ps's
/// header, as runc prints them (containerd's `top` parses this).
pub fn ps_table(pids: &[i32], args: &[String]) -> anyhow::Result<()> {
    use anyhow::Context;
    let args: Vec<&str> = if args.is_empty() {
        vec!["-ef"]
    } else {
        args.iter().map(String::as_str).collect()
    };
    let ps = std::process::Command::new("ps")
        .args(&args)
        .output()
        .context("run ps")?;
    anyhow::ensure!(
        ps.status.success(),
        "ps {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&ps.stderr).trim()
    );
    let text = String::from_utf8_lossy(&ps.stdout);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let column = header
        .split_whitespace()
        .position(|h| h == "PID")
        .context("ps output has no PID column")?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{header}")?;
    for line in lines {
        let pid = line
            .split_whitespace()
            .nth(column)
            .and_then(|p| p.parse().ok());
        if pid.is_some_and(|p: i32| pids.contains(&p)) {
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}

pub fn list(states: &[ContainerState], format: ListFormat, quiet: bool) -> anyhow::Result<()> {
    // One write for the whole table: stdout alone would write each line.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    write_list(&mut out, states, format, quiet)?;
    out.flush()?;
    Ok(())
}

fn write_list(
    out: &mut impl Write,
    states: &[ContainerState],
    format: ListFormat,
    quiet: bool,
) -> anyhow::Result<()> {
    if quiet {
        for s in states {
            writeln!(out, "{}", s.id)?;
        }
        return Ok(());
    }
    match format {
        ListFormat::Json => {
            serde_json::to_writer(&mut *out, states)?;
            out.write_all(b"\n")?;
        }
        ListFormat::Table => {
            // Cells borrowed from the states, one line buffer for every row: a String
            // per cell was a seventh of `list`'s own work with 100 containers.
            let pids: Vec<String> = states.iter().map(|s| s.pid.to_string()).collect();
            let bundles: Vec<_> = states.iter().map(|s| s.bundle.to_string_lossy()).collect();
            let header = ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"];
            let rows = states
                .iter()
                .zip(&pids)
                .zip(&bundles)
                .map(|((s, pid), bundle)| {
                    [
                        s.id.as_str(),
                        pid.as_str(),
                        s.status.as_str(),
                        bundle.as_ref(),
                        s.created.as_str(),
                        s.owner.as_str(),
                    ]
                });
            let mut widths = [0usize; 6];
            for row in std::iter::once(header).chain(rows.clone()) {
                for (w, cell) in widths.iter_mut().zip(row) {
                    *w = (*w).max(cell.len());
                }
            }
            let mut line = String::new();
            for row in std::iter::once(header).chain(rows) {
                line.clear();
                for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
                    if i > 0 {
                        line.push_str("   ");
                    }
                    line.push_str(cell);
                    let padding = w.saturating_sub(cell.chars().count());
                    line.extend(std::iter::repeat_n(' ', padding));
                }
                out.write_all(line.trim_end().as_bytes())?;
                out.write_all(b"\n")?;
            }
        }
    }
    Ok(())
}
