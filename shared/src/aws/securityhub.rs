//! Security Hub through the SDK: `BatchImportFindings` and
//! `BatchUpdateFindings` (DESIGN §13).

use async_trait::async_trait;
use aws_sdk_securityhub::types::{
    AwsSecurityFinding, AwsSecurityFindingIdentifier, Compliance, ComplianceStatus,
    FindingProviderFields, FindingProviderSeverity, NoteUpdate, Partition, Recommendation,
    RecordState, Remediation, Resource, Severity, SeverityLabel, Workflow, WorkflowStatus,
    WorkflowUpdate,
};

/// What the functions call when Security Hub is on (DESIGN §13): import
/// findings into the account's default product, and resolve them. The
/// Terraform module grants them only then (a test compares them).
pub const SECURITY_HUB_ACTIONS: &[&str] = &[
    "securityhub:BatchImportFindings",
    "securityhub:BatchUpdateFindings",
];

use super::classify;
use crate::output::asff::{AsffFinding, AsffResource, AsffSeverity, UPDATED_BY};
use crate::ports::{AwsError, FindingsHub, Refused};

/// The Security Hub of the account and region the client is for.
#[derive(Debug, Clone)]
pub struct SecurityHubFindings {
    client: aws_sdk_securityhub::Client,
}

impl SecurityHubFindings {
    pub fn new(client: aws_sdk_securityhub::Client) -> Self {
        SecurityHubFindings { client }
    }
}

fn label(severity: &AsffSeverity) -> SeverityLabel {
    SeverityLabel::from(severity.label)
}

/// The SDK's resource. Its own function, and without `Details` (the
/// account, region and name are in the finding's `ProductFields`): the SDK's
/// resource types are tens of KB each, and every builder call moves one,
/// which in a debug build is that much stack per call.
#[inline(never)]
fn sdk_resource(r: &AsffResource) -> Resource {
    Resource::builder()
        .r#type(r.r#type)
        .id(&r.id)
        .partition(Partition::from(r.partition.as_str()))
        .region(&r.region)
        .build()
}

/// The SDK's finding for an ASFF finding, field by field.
pub fn sdk_finding(f: &AsffFinding) -> AwsSecurityFinding {
    let resources = f.resources.iter().map(sdk_resource).collect();
    let product_fields = f
        .product_fields
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    AwsSecurityFinding::builder()
        .schema_version(f.schema_version)
        .id(&f.id)
        .product_arn(&f.product_arn)
        .generator_id(&f.generator_id)
        .aws_account_id(&f.aws_account_id)
        .set_types(Some(f.types.clone()))
        .created_at(&f.created_at)
        .updated_at(&f.updated_at)
        .first_observed_at(&f.first_observed_at)
        .last_observed_at(&f.last_observed_at)
        .severity(
            Severity::builder()
                .label(label(&f.severity))
                .original(f.severity.original)
                .build(),
        )
        .finding_provider_fields(
            FindingProviderFields::builder()
                .severity(
                    FindingProviderSeverity::builder()
                        .label(label(&f.finding_provider_fields.severity))
                        .original(f.finding_provider_fields.severity.original)
                        .build(),
                )
                .set_types(Some(f.finding_provider_fields.types.clone()))
                .build(),
        )
        .title(&f.title)
        .description(&f.description)
        .remediation(
            Remediation::builder()
                .recommendation(Recommendation::builder().text(&f.recommendation).build())
                .build(),
        )
        .set_product_fields(Some(product_fields))
        .set_resources(Some(resources))
        .compliance(
            Compliance::builder()
                .status(ComplianceStatus::from(f.compliance_status))
                .build(),
        )
        .record_state(RecordState::from(f.record_state))
        .workflow(
            Workflow::builder()
                .status(WorkflowStatus::from(f.workflow_status))
                .build(),
        )
        .build()
}

#[async_trait]
impl FindingsHub for SecurityHubFindings {
    async fn import(&self, findings: &[AsffFinding]) -> Result<Vec<Refused>, AwsError> {
        let out = self
            .client
            .batch_import_findings()
            .set_findings(Some(findings.iter().map(sdk_finding).collect()))
            .send()
            .await
            .map_err(|e| classify("BatchImportFindings", &e))?;
        Ok(out
            .failed_findings()
            .iter()
            .map(|f| Refused {
                id: f.id().unwrap_or_default().to_string(),
                code: f.error_code().unwrap_or("Unknown").to_string(),
            })
            .collect())
    }

    async fn resolve(
        &self,
        product_arn: &str,
        ids: &[String],
        note: &str,
    ) -> Result<Vec<Refused>, AwsError> {
        let identifiers = ids
            .iter()
            .map(|id| {
                AwsSecurityFindingIdentifier::builder()
                    .id(id)
                    .product_arn(product_arn)
                    .build()
            })
            .collect();
        let out = self
            .client
            .batch_update_findings()
            .set_finding_identifiers(Some(identifiers))
            .workflow(
                WorkflowUpdate::builder()
                    .status(WorkflowStatus::Resolved)
                    .build(),
            )
            .note(
                NoteUpdate::builder()
                    .text(note)
                    .updated_by(UPDATED_BY)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| classify("BatchUpdateFindings", &e))?;
        Ok(out
            .unprocessed_findings()
            .iter()
            .map(|f| Refused {
                id: f
                    .finding_identifier()
                    .and_then(|i| i.id())
                    .unwrap_or_default()
                    .to_string(),
                code: f.error_code().unwrap_or("Unknown").to_string(),
            })
            .collect())
    }
}
