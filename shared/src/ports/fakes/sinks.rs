//! Fakes of where alerts go: the topic, Security Hub, chat; and captured logs.

use super::*;

/// Keeps what it was asked to publish.
#[derive(Default)]
pub struct MemoryNotifier {
    pub sent: Mutex<Vec<Notification>>,
}

#[async_trait]
impl Notifier for MemoryNotifier {
    async fn publish(&self, notification: &Notification) -> Result<(), AwsError> {
        self.sent.lock().unwrap().push(notification.clone());
        Ok(())
    }
}

/// Security Hub in memory: findings by Id (a re-import replaces), the
/// resolve calls, and errors to answer with.
#[derive(Default)]
pub struct MemoryHub {
    pub findings: Mutex<Vec<crate::output::asff::AsffFinding>>,
    /// Every import call's size.
    pub imports: Mutex<Vec<usize>>,
    /// Every resolve call: (product ARN, Ids, note).
    pub resolves: Mutex<Vec<(String, Vec<String>, String)>>,
    /// Answer every import with this error instead.
    pub import_error: Option<AwsError>,
    /// Answer every resolve with this error instead.
    pub resolve_error: Option<AwsError>,
}

#[async_trait]
impl crate::ports::FindingsHub for MemoryHub {
    async fn import(
        &self,
        findings: &[crate::output::asff::AsffFinding],
    ) -> Result<Vec<crate::ports::Refused>, AwsError> {
        self.imports.lock().unwrap().push(findings.len());
        if let Some(e) = &self.import_error {
            return Err(e.clone());
        }
        let mut held = self.findings.lock().unwrap();
        for f in findings {
            held.retain(|h| h.id != f.id);
            held.push(f.clone());
        }
        Ok(Vec::new())
    }

    async fn resolve(
        &self,
        product_arn: &str,
        ids: &[String],
        note: &str,
    ) -> Result<Vec<crate::ports::Refused>, AwsError> {
        self.resolves.lock().unwrap().push((
            product_arn.to_string(),
            ids.to_vec(),
            note.to_string(),
        ));
        match &self.resolve_error {
            Some(e) => Err(e.clone()),
            None => Ok(Vec::new()),
        }
    }
}

/// A chat topic in memory: every message posted, or an error to answer with.
#[derive(Default)]
pub struct MemoryChat {
    pub posted: Mutex<Vec<String>>,
    pub error: Option<AwsError>,
}

#[async_trait]
impl crate::ports::ChatChannel for MemoryChat {
    async fn post(&self, message: &str) -> Result<(), AwsError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        self.posted.lock().unwrap().push(message.to_string());
        Ok(())
    }
}

/// A log writer (`tracing_subscriber::fmt().with_writer(...)`) that keeps
/// everything written to it, for tests that read what a function logged.
#[derive(Clone, Default)]
pub struct CapturedLogs(std::sync::Arc<Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedLogs {
    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}
