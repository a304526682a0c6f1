//! Log lines as runc's callers read them: with `--log-format json`, one logrus-style
//! object per line (`{"level":"error","msg":"...","time":"..."}`); with `text`,
//! logrus's `time="..." level=error msg="..."`. Without `--debug` only errors are
//! written, because podman parses the whole log file as a single JSON object.

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context as LayerContext, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

enum Sink {
    File(File),
    Stderr,
}

struct LogLayer {
    sink: Sink,
    format: LogFormat,
    max_level: Level,
}

/// Where the log goes; whether the final error must also be printed to stderr.
pub struct Logging {
    pub to_stderr: bool,
}

pub fn init(log: Option<&Path>, format: LogFormat, debug: bool) -> anyhow::Result<Logging> {
    let sink = match log {
        Some(path) => Sink::File(
            OpenOptions::new()
                .append(true)
                .create(true)
                .open(path)
                .with_context(|| format!("open log file {}", path.display()))?,
        ),
        None => Sink::Stderr,
    };
    let to_stderr = matches!(sink, Sink::Stderr);
    let layer = LogLayer {
        sink,
        format,
        max_level: if debug { Level::DEBUG } else { Level::ERROR },
    };
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::set_global_default(subscriber).context("set up logging")?;
    Ok(Logging { to_stderr })
}

#[derive(Default)]
struct Message {
    text: String,
}

impl Visit for Message {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.push(field, &format!("{value:?}"));
    }
}

impl Message {
    fn push(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            if !self.text.is_empty() {
                self.text.insert(0, ' ');
            }
            self.text.insert_str(0, value);
        } else {
            let _ = write!(self.text, " {}={}", field.name(), value);
        }
    }
}

struct Started(Instant);

impl LogLayer {
    fn write(&self, level: Level, msg: &str) {
        let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        let level = level.as_str().to_ascii_lowercase();
        let mut line = match self.format {
            LogFormat::Json => {
                serde_json::json!({ "level": level, "msg": msg, "time": time }).to_string()
            }
            LogFormat::Text => format!("time={time:?} level={level} msg={msg:?}"),
        };
        line.push('\n');
        // One write per line, so that lines from the init (which shares the file) and
        // from truman never interleave inside a line.
        let _ = match &self.sink {
            Sink::File(file) => (&*file).write_all(line.as_bytes()),
            Sink::Stderr => std::io::stderr().write_all(line.as_bytes()),
        };
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for LogLayer {
    fn enabled(&self, metadata: &tracing::Metadata<'_>, _: LayerContext<'_, S>) -> bool {
        *metadata.level() <= self.max_level
    }

    fn on_new_span(&self, _: &Attributes<'_>, id: &Id, ctx: LayerContext<'_, S>) {
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(Started(Instant::now()));
        }
    }

    fn on_close(&self, id: Id, ctx: LayerContext<'_, S>) {
        if self.max_level < Level::DEBUG {
            return;
        }
        if let Some(span) = ctx.span(&id) {
            if let Some(Started(start)) = span.extensions().get::<Started>() {
                self.write(
                    Level::DEBUG,
                    &format!("{} took {:?}", span.name(), start.elapsed()),
                );
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, _: LayerContext<'_, S>) {
        let mut message = Message::default();
        event.record(&mut message);
        self.write(*event.metadata().level(), &message.text);
    }
}
