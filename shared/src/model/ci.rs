//! EC2 records that decide how an instance — a container instance above all —
//! can be reached and what its containers can reach: `RunInstances`,
//! `CreateLaunchTemplate`, `CreateLaunchTemplateVersion` and
//! `ModifyInstanceMetadataOptions` (eventSource `ec2.amazonaws.com`).
//!
//! Shapes, as CloudTrail writes them:
//! - `RunInstances`: camelCase with `{"items": [...]}` lists.
//!   `requestParameters.instancesSet.items[]` (`imageId`, `minCount`,
//!   `maxCount`, `keyName`), `groupSet.items[].groupId`, `subnetId`,
//!   `networkInterfaceSet.items[]` (`deviceIndex`, `associatePublicIpAddress`,
//!   `subnetId`, `groupSet`), `metadataOptions` (`httpTokens`,
//!   `httpPutResponseHopLimit` — a number or a string —, `httpEndpoint`),
//!   `iamInstanceProfile` (`arn` or `name`), `launchTemplate`
//!   (`launchTemplateId` or `launchTemplateName`, `version`).
//!   `responseElements.instancesSet.items[]` describes each launched instance:
//!   `instanceId`, `keyName`, `iamInstanceProfile.arn`, `metadataOptions`,
//!   `groupSet`, `networkInterfaceSet.items[].association.publicIp`.
//! - `CreateLaunchTemplate(Version)`: PascalCase under
//!   `requestParameters.CreateLaunchTemplate(Version)Request`, the version's
//!   settings in `LaunchTemplateData` with the query API's numbering: a list
//!   of one is one object, its members carry a `tag` (`"NetworkInterface":
//!   {"tag": 1, "DeviceIndex": 0, "SecurityGroupId": {"tag": 1, "content": "sg-…"}}`).
//!   The response names the template (`CreateLaunchTemplateResponse.launchTemplate`,
//!   `CreateLaunchTemplateVersionResponse.launchTemplateVersion`).
//! - `ModifyInstanceMetadataOptions`: `requestParameters.ModifyInstanceMetadataOptionsRequest`
//!   (`InstanceId`, `HttpTokens`, `HttpPutResponseHopLimit`, `HttpEndpoint`),
//!   `responseElements.ModifyInstanceMetadataOptionsResponse.instanceMetadataOptions`.
//!
//! Request and response are both evidence: the response where it carries a
//! field, the request where it does not. A launch or a template version is
//! judged whole (what it leaves out takes AWS's default); a metadata update
//! only on what it sets. A launch from a launch template takes what its
//! request leaves out from the template version, which the record does not
//! carry: those settings are [`Said::Unknown`] and the change names the
//! version to read ([`InstanceChange::needs_template`]), never "clean".

use std::fmt;

use serde_json::Value;

use crate::model::event::Event;
use crate::model::json::{kind, FieldError, Node};

pub const RUN_INSTANCES: &str = "RunInstances";
pub const CREATE_LAUNCH_TEMPLATE: &str = "CreateLaunchTemplate";
pub const CREATE_LAUNCH_TEMPLATE_VERSION: &str = "CreateLaunchTemplateVersion";
pub const MODIFY_INSTANCE_METADATA_OPTIONS: &str = "ModifyInstanceMetadataOptions";

/// The calls this module reads.
pub const EVENT_NAMES: [&str; 4] = [
    RUN_INSTANCES,
    CREATE_LAUNCH_TEMPLATE,
    CREATE_LAUNCH_TEMPLATE_VERSION,
    MODIFY_INSTANCE_METADATA_OPTIONS,
];

/// What a record says about one setting.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Said<T> {
    /// The record does not say: a launch template version it does not
    /// carry, or an update that leaves the setting as it was.
    #[default]
    Unknown,
    /// Not set: AWS's default applies (no key pair, no instance profile, the
    /// subnet's public-IP setting, the VPC's default group, the AMI's or the
    /// account's metadata defaults).
    Default,
    Set(T),
}

impl<T: Clone> Said<T> {
    /// `self` where it says anything, else `other`.
    pub fn or(self, other: &Said<T>) -> Said<T> {
        match self {
            Said::Unknown => other.clone(),
            said => said,
        }
    }

    /// A whole configuration: what it does not say is AWS's default.
    fn or_default(self) -> Said<T> {
        match self {
            Said::Unknown => Said::Default,
            said => said,
        }
    }

    pub fn set(&self) -> Option<&T> {
        match self {
            Said::Set(value) => Some(value),
            _ => None,
        }
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self, Said::Unknown)
    }
}

/// What a field the record leaves out means: AWS's default in a whole
/// configuration, unknown where a launch template fills it in.
fn absent<T>(whole: bool) -> Said<T> {
    if whole {
        Said::Default
    } else {
        Said::Unknown
    }
}

/// `Some` → set; `None` → `otherwise`.
fn said<T>(value: Option<T>, otherwise: Said<T>) -> Said<T> {
    value.map_or(otherwise, Said::Set)
}

/// The settings of an instance (or of the instances of a launch, or of a
/// launch template version) that the EC2-CI rules judge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstanceSettings {
    /// The AMI (its `ImdsSupport` may make IMDSv2 the default).
    pub image: Option<String>,
    /// `metadataOptions.httpTokens`: `required` (IMDSv2 only) or `optional`.
    pub http_tokens: Said<String>,
    /// `metadataOptions.httpPutResponseHopLimit`.
    pub hop_limit: Said<i64>,
    /// `metadataOptions.httpEndpoint`: `disabled` turns IMDS off.
    pub http_endpoint: Said<String>,
    /// Whether the primary network interface gets a public IPv4 address
    /// (`associatePublicIpAddress`, or a public IP in the response).
    /// `Default`: the subnet's `MapPublicIpOnLaunch` decides.
    pub public_ip: Said<bool>,
    /// The public address the response shows, if any.
    pub public_address: Option<String>,
    /// The key pair's name.
    pub key_name: Said<String>,
    /// The instance profile (ARN or name).
    pub instance_profile: Said<String>,
    /// The security groups (ids; names where only a name is given).
    /// `Default`: none named, the VPC's default group applies.
    pub security_groups: Said<Vec<String>>,
    /// The subnet, when named.
    pub subnet: Option<String>,
}

impl InstanceSettings {
    /// Field by field: `self` where it says, else `other`.
    pub fn or(self, other: &InstanceSettings) -> InstanceSettings {
        InstanceSettings {
            image: self.image.or_else(|| other.image.clone()),
            http_tokens: self.http_tokens.or(&other.http_tokens),
            hop_limit: self.hop_limit.or(&other.hop_limit),
            http_endpoint: self.http_endpoint.or(&other.http_endpoint),
            public_ip: self.public_ip.or(&other.public_ip),
            public_address: self.public_address.or_else(|| other.public_address.clone()),
            key_name: self.key_name.or(&other.key_name),
            instance_profile: self.instance_profile.or(&other.instance_profile),
            security_groups: self.security_groups.or(&other.security_groups),
            subnet: self.subnet.or_else(|| other.subnet.clone()),
        }
    }

    /// A whole configuration: every setting it does not say takes AWS's default.
    pub fn whole(self) -> InstanceSettings {
        InstanceSettings {
            http_tokens: self.http_tokens.or_default(),
            hop_limit: self.hop_limit.or_default(),
            http_endpoint: self.http_endpoint.or_default(),
            public_ip: self.public_ip.or_default(),
            key_name: self.key_name.or_default(),
            instance_profile: self.instance_profile.or_default(),
            security_groups: self.security_groups.or_default(),
            ..self
        }
    }

    /// The settings the record does not tell (named as in the API).
    pub fn unknown(&self) -> Vec<&'static str> {
        [
            ("httpTokens", self.http_tokens.is_unknown()),
            ("httpPutResponseHopLimit", self.hop_limit.is_unknown()),
            ("associatePublicIpAddress", self.public_ip.is_unknown()),
            ("keyName", self.key_name.is_unknown()),
            ("iamInstanceProfile", self.instance_profile.is_unknown()),
            ("securityGroups", self.security_groups.is_unknown()),
        ]
        .into_iter()
        .filter_map(|(name, unknown)| unknown.then_some(name))
        .collect()
    }

    /// True when the call turns the metadata endpoint off: no IMDS at all.
    pub fn imds_off(&self) -> bool {
        self.http_endpoint
            .set()
            .is_some_and(|e| e.eq_ignore_ascii_case("disabled"))
    }

    /// The groups named, empty when none are (or the record does not say).
    pub fn groups(&self) -> &[String] {
        self.security_groups
            .set()
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// Reads a launch template version's settings written as the query API
    /// names them (PascalCase, one-or-many members with `tag` numbering):
    /// CloudTrail's `LaunchTemplateData`. What it does not say is `Unknown`;
    /// a whole version is [`InstanceSettings::whole`].
    pub fn from_template_data(data: &Node<'_>) -> Result<InstanceSettings, FieldError> {
        if data.is_omitted() {
            return Err(data.error("omitted by CloudTrail"));
        }
        if data.object()?.is_none() {
            return Err(data.error("missing"));
        }
        let metadata = any_of(data, &["MetadataOptions"]);
        if metadata.is_omitted() {
            return Err(metadata.error("omitted by CloudTrail"));
        }
        let mut groups = tagged_strings(&any_of(data, &["SecurityGroupId", "SecurityGroupIds"]))?;
        groups.extend(tagged_strings(&any_of(
            data,
            &["SecurityGroup", "SecurityGroups"],
        ))?);
        let mut public_ip = None;
        let mut subnet = None;
        for nic in pascal_list(&any_of(data, &["NetworkInterface", "NetworkInterfaces"]))? {
            public_ip = merge_public_ip(public_ip, nic.get("AssociatePublicIpAddress").bool()?);
            subnet = subnet.or(nic.get("SubnetId").str()?.map(str::to_string));
            groups.extend(tagged_strings(&any_of(
                &nic,
                &["SecurityGroupId", "SecurityGroupIds", "Groups"],
            ))?);
        }
        let profile = any_of(data, &["IamInstanceProfile"]);
        Ok(InstanceSettings {
            image: data.get("ImageId").str()?.map(str::to_string),
            http_tokens: said(string(&metadata.get("HttpTokens"))?, Said::Unknown),
            hop_limit: said(
                metadata.get("HttpPutResponseHopLimit").int()?,
                Said::Unknown,
            ),
            http_endpoint: said(string(&metadata.get("HttpEndpoint"))?, Said::Unknown),
            public_ip: said(public_ip, Said::Unknown),
            public_address: None,
            key_name: said(string(&data.get("KeyName"))?, Said::Unknown),
            instance_profile: said(
                string(&profile.get("Arn"))?.or(string(&profile.get("Name"))?),
                Said::Unknown,
            ),
            security_groups: if groups.is_empty() {
                Said::Unknown
            } else {
                Said::Set(dedup(groups))
            },
            subnet: subnet.or(data.get("SubnetId").str()?.map(str::to_string)),
        })
    }
}

/// Which call it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CiCall {
    RunInstances,
    CreateLaunchTemplate,
    CreateLaunchTemplateVersion,
    /// `ModifyInstanceMetadataOptions`: judged on what it sets.
    ModifyMetadataOptions,
}

impl CiCall {
    /// True for a launch or a template version (judged whole), false for
    /// a metadata update (judged on what it sets).
    pub fn is_creation(self) -> bool {
        self != CiCall::ModifyMetadataOptions
    }

    /// True for `CreateLaunchTemplate(Version)`.
    pub fn is_template(self) -> bool {
        matches!(
            self,
            CiCall::CreateLaunchTemplate | CiCall::CreateLaunchTemplateVersion
        )
    }
}

/// A launch template version: the one a launch uses, or the one a call creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateRef {
    /// `lt-…`, when the record names it.
    pub id: Option<String>,
    pub name: Option<String>,
    /// A number, or `$Default` / `$Latest`.
    pub version: String,
}

impl TemplateRef {
    /// The id, else the name: what `DescribeLaunchTemplateVersions` takes.
    pub fn key(&self) -> &str {
        self.id
            .as_deref()
            .or(self.name.as_deref())
            .unwrap_or("(unnamed)")
    }
}

impl fmt::Display for TemplateRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.name, &self.id) {
            (Some(name), Some(id)) => write!(f, "launch template {name} ({id})")?,
            _ => write!(f, "launch template {}", self.key())?,
        }
        write!(f, " version {}", self.version)
    }
}

/// One call about instances or their launch templates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceChange {
    pub call: CiCall,
    /// The instances launched (RunInstances' response) or modified.
    pub instance_ids: Vec<String>,
    /// RunInstances: the template the launch uses; CreateLaunchTemplate(Version):
    /// the template version created.
    pub template: Option<TemplateRef>,
    /// What the request set (`Unknown` where it says nothing).
    pub requested: InstanceSettings,
    /// What the rules judge: a launch or a template version as it stands
    /// after the call (the response where it says, else the request, else
    /// AWS's default); a metadata update: only what it sets.
    pub effective: InstanceSettings,
    /// The launch template version the record does not carry and the
    /// judgement needs: the Lambda reads it and calls
    /// [`InstanceChange::with_template`]; offline the verdict says so.
    pub needs_template: Option<TemplateRef>,
    /// The Auto Scaling group that launched the instances (RunInstances'
    /// `aws:autoscaling:groupName` tag): a capacity provider's group makes
    /// them container instances.
    pub auto_scaling_group: Option<String>,
}

impl InstanceChange {
    /// Reads one of [`EVENT_NAMES`] from EC2; `Ok(None)` for anything else.
    pub fn from_event(event: &Event) -> Result<Option<InstanceChange>, FieldError> {
        let call = match event.name.as_str() {
            RUN_INSTANCES => CiCall::RunInstances,
            CREATE_LAUNCH_TEMPLATE => CiCall::CreateLaunchTemplate,
            CREATE_LAUNCH_TEMPLATE_VERSION => CiCall::CreateLaunchTemplateVersion,
            MODIFY_INSTANCE_METADATA_OPTIONS => CiCall::ModifyMetadataOptions,
            _ => return Ok(None),
        };
        if !event.is_from("ec2") {
            return Ok(None);
        }
        let request = event.request();
        if request.is_omitted() || request.object()?.is_none() {
            return Err(request.error("missing or omitted by CloudTrail"));
        }
        let response = event.response();
        // A response trimmed away by CloudTrail adds nothing: the request is judged.
        let response = if response.is_omitted() {
            response.get("(omitted)")
        } else {
            response
        };
        Ok(Some(match call {
            CiCall::RunInstances => run_instances(&request, &response)?,
            CiCall::CreateLaunchTemplate | CiCall::CreateLaunchTemplateVersion => {
                template_version(call, &request, &response)?
            }
            CiCall::ModifyMetadataOptions => metadata_update(&request, &response)?,
        }))
    }

    /// An instance as it stands (the sweep): judged as its launch.
    pub fn current(instance_id: &str, settings: InstanceSettings) -> InstanceChange {
        let settings = settings.whole();
        InstanceChange {
            call: CiCall::RunInstances,
            instance_ids: vec![instance_id.to_string()],
            template: None,
            requested: settings.clone(),
            effective: settings,
            needs_template: None,
            auto_scaling_group: None,
        }
    }

    /// Fills what the record does not say from the launch template version
    /// the Lambda read (`data`; what the version leaves out is AWS's
    /// default). The launch's own settings win over the template's.
    pub fn with_template(mut self, data: &InstanceSettings) -> InstanceChange {
        self.effective = self.effective.or(data).whole();
        self.needs_template = None;
        self
    }

    /// What the call is about, for messages: the instances, the template
    /// version, `instances of launch template …`.
    pub fn resource(&self) -> String {
        match (self.call, &self.template) {
            (CiCall::RunInstances, template) if self.instance_ids.is_empty() => match template {
                Some(t) => format!("instances of {t}"),
                None => match &self.effective.image {
                    Some(image) => format!("instances of {image}"),
                    None => "instances".to_string(),
                },
            },
            (CiCall::CreateLaunchTemplate | CiCall::CreateLaunchTemplateVersion, Some(t)) => {
                t.to_string()
            }
            _ => {
                let shown: Vec<&str> = self
                    .instance_ids
                    .iter()
                    .take(3)
                    .map(String::as_str)
                    .collect();
                match self.instance_ids.len() {
                    0 => "(unnamed instance)".to_string(),
                    n if n > 3 => format!("{} and {} more", shown.join(", "), n - 3),
                    _ => shown.join(", "),
                }
            }
        }
    }
}

fn run_instances(request: &Node<'_>, response: &Node<'_>) -> Result<InstanceChange, FieldError> {
    let launch = request.get("launchTemplate");
    if launch.is_omitted() {
        return Err(launch.error("omitted by CloudTrail"));
    }
    let template = if launch.is_present() {
        let id = string(&launch.get("launchTemplateId"))?;
        let name = string(&launch.get("launchTemplateName"))?;
        if id.is_none() && name.is_none() {
            return Err(launch.error("names no launch template"));
        }
        Some(TemplateRef {
            id,
            name,
            version: version(&launch.get("version"))?.unwrap_or_else(|| "$Default".to_string()),
        })
    } else {
        None
    };
    let instances = list(&request.get("instancesSet"))?;
    if instances.is_empty() && template.is_none() {
        return Err(request
            .get("instancesSet")
            .error("missing: no instances and no launch template"));
    }
    // Without a template the request is the whole configuration: what it
    // leaves out is AWS's default. With one, the template fills it in.
    let whole = template.is_none();
    let metadata = request.get("metadataOptions");
    if metadata.is_omitted() {
        return Err(metadata.error("omitted by CloudTrail"));
    }
    let mut image = string(&request.get("imageId"))?;
    let mut key_name = string(&request.get("keyName"))?;
    for item in &instances {
        image = image.or(string(&item.get("imageId"))?);
        key_name = key_name.or(string(&item.get("keyName"))?);
    }
    let mut groups = group_ids(&request.get("groupSet"))?;
    let mut public_ip = None;
    let mut subnet = string(&request.get("subnetId"))?;
    for nic in list(&request.get("networkInterfaceSet"))? {
        public_ip = merge_public_ip(public_ip, nic.get("associatePublicIpAddress").bool()?);
        subnet = subnet.or(string(&nic.get("subnetId"))?);
        groups.extend(group_ids(&nic.get("groupSet"))?);
    }
    let profile = request.get("iamInstanceProfile");
    let requested = InstanceSettings {
        image,
        http_tokens: said(string(&metadata.get("httpTokens"))?, absent(whole)),
        hop_limit: said(
            metadata.get("httpPutResponseHopLimit").int()?,
            absent(whole),
        ),
        http_endpoint: said(string(&metadata.get("httpEndpoint"))?, absent(whole)),
        public_ip: said(public_ip, absent(whole)),
        public_address: None,
        key_name: said(key_name, absent(whole)),
        instance_profile: said(
            string(&profile.get("arn"))?.or(string(&profile.get("name"))?),
            absent(whole),
        ),
        security_groups: if groups.is_empty() {
            absent(whole)
        } else {
            Said::Set(dedup(groups))
        },
        subnet,
    };
    let mut instance_ids = Vec::new();
    let mut launched = InstanceSettings::default();
    let launched_set = response.get("instancesSet");
    if !launched_set.is_omitted() {
        for (i, item) in list(&launched_set)?.into_iter().enumerate() {
            if let Some(id) = string(&item.get("instanceId"))? {
                instance_ids.push(id);
            }
            let one = launched_instance(&item)?;
            launched = if i == 0 {
                one
            } else {
                // Every instance of a launch has the same settings; any
                // public address is a public IP.
                InstanceSettings {
                    public_ip: launched.public_ip.or(&one.public_ip),
                    public_address: launched.public_address.or(one.public_address),
                    ..launched
                }
            };
        }
    }
    let effective = launched.or(&requested);
    let needs_template = template.clone().filter(|_| !effective.unknown().is_empty());
    Ok(InstanceChange {
        call: CiCall::RunInstances,
        instance_ids,
        template,
        requested,
        effective,
        needs_template,
        auto_scaling_group: auto_scaling_group(&request.get("tagSpecificationSet"))?,
    })
}

/// The `aws:autoscaling:groupName` tag of a launch's tag specifications
/// (`{"items": [{"resourceType": "instance", "tags": [{"key", "value"}]}]}`):
/// Auto Scaling tags the instances it launches with its group's name.
fn auto_scaling_group(specs: &Node<'_>) -> Result<Option<String>, FieldError> {
    for spec in list(specs)? {
        for tag in list(&spec.get("tags"))? {
            if string(&tag.get("key"))?.as_deref() == Some("aws:autoscaling:groupName") {
                return string(&tag.get("value"));
            }
        }
    }
    Ok(None)
}

/// One item of RunInstances' `responseElements.instancesSet`: only what it
/// carries (an absent field is `Unknown`, never "none").
fn launched_instance(item: &Node<'_>) -> Result<InstanceSettings, FieldError> {
    let metadata = item.get("metadataOptions");
    let metadata = if metadata.is_omitted() {
        item.get("(omitted)")
    } else {
        metadata
    };
    let mut groups = group_ids(&item.get("groupSet"))?;
    let mut public_address = string(&item.get("ipAddress"))?;
    let mut subnet = string(&item.get("subnetId"))?;
    for nic in list(&item.get("networkInterfaceSet"))? {
        groups.extend(group_ids(&nic.get("groupSet"))?);
        public_address = public_address.or(string(&nic.get("association").get("publicIp"))?);
        subnet = subnet.or(string(&nic.get("subnetId"))?);
    }
    let profile = item.get("iamInstanceProfile");
    Ok(InstanceSettings {
        image: string(&item.get("imageId"))?,
        http_tokens: said(string(&metadata.get("httpTokens"))?, Said::Unknown),
        hop_limit: said(
            metadata.get("httpPutResponseHopLimit").int()?,
            Said::Unknown,
        ),
        http_endpoint: said(string(&metadata.get("httpEndpoint"))?, Said::Unknown),
        // A pending instance rarely shows its public address yet: only its
        // presence is evidence.
        public_ip: said(public_address.as_ref().map(|_| true), Said::Unknown),
        public_address,
        key_name: said(string(&item.get("keyName"))?, Said::Unknown),
        instance_profile: said(
            string(&profile.get("arn"))?.or(string(&profile.get("id"))?),
            Said::Unknown,
        ),
        security_groups: if groups.is_empty() {
            Said::Unknown
        } else {
            Said::Set(dedup(groups))
        },
        subnet,
    })
}

fn template_version(
    call: CiCall,
    request: &Node<'_>,
    response: &Node<'_>,
) -> Result<InstanceChange, FieldError> {
    let (wrapper, out) = if call == CiCall::CreateLaunchTemplate {
        (
            request.get("CreateLaunchTemplateRequest"),
            response
                .get("CreateLaunchTemplateResponse")
                .get("launchTemplate"),
        )
    } else {
        (
            request.get("CreateLaunchTemplateVersionRequest"),
            response
                .get("CreateLaunchTemplateVersionResponse")
                .get("launchTemplateVersion"),
        )
    };
    if wrapper.is_omitted() || !wrapper.is_present() {
        return Err(wrapper.error("missing or omitted by CloudTrail"));
    }
    let data = wrapper.get("LaunchTemplateData");
    let requested = InstanceSettings::from_template_data(&data)?;
    let number = if call == CiCall::CreateLaunchTemplate {
        version(&out.get("latestVersionNumber"))?.unwrap_or_else(|| "1".to_string())
    } else {
        version(&out.get("versionNumber"))?.unwrap_or_else(|| "$Latest".to_string())
    };
    let template = TemplateRef {
        id: string(&out.get("launchTemplateId"))?.or(string(&wrapper.get("LaunchTemplateId"))?),
        name: string(&out.get("launchTemplateName"))?
            .or(string(&wrapper.get("LaunchTemplateName"))?),
        version: number,
    };
    if template.id.is_none() && template.name.is_none() {
        return Err(wrapper.get("LaunchTemplateName").error("missing"));
    }
    // A new version based on another takes what it leaves out from that one.
    let source = version(&wrapper.get("SourceVersion"))?;
    let (effective, needs_template) = match source {
        Some(_) if !requested.unknown().is_empty() => (requested.clone(), Some(template.clone())),
        Some(_) => (requested.clone(), None),
        None => (requested.clone().whole(), None),
    };
    Ok(InstanceChange {
        call,
        instance_ids: Vec::new(),
        template: Some(template),
        requested,
        effective,
        needs_template,
        auto_scaling_group: None,
    })
}

fn metadata_update(request: &Node<'_>, response: &Node<'_>) -> Result<InstanceChange, FieldError> {
    let wrapped = request.get("ModifyInstanceMetadataOptionsRequest");
    if wrapped.is_omitted() {
        return Err(wrapped.error("omitted by CloudTrail"));
    }
    // Some exporters flatten the wrapper (and lower the first letter).
    let options = if wrapped.is_present() {
        wrapped
    } else {
        request.clone()
    };
    let field = |names: &[&str]| any_of(&options, names);
    let tokens = string(&field(&["HttpTokens", "httpTokens"]))?;
    let hop_limit = field(&["HttpPutResponseHopLimit", "httpPutResponseHopLimit"]).int()?;
    let endpoint = string(&field(&["HttpEndpoint", "httpEndpoint"]))?;
    let others = [
        "HttpProtocolIpv6",
        "InstanceMetadataTags",
        "httpProtocolIpv6",
        "instanceMetadataTags",
    ];
    if tokens.is_none()
        && hop_limit.is_none()
        && endpoint.is_none()
        && !others.iter().any(|k| options.get(k).is_present())
    {
        return Err(options.error("sets no metadata option"));
    }
    let after = response.get("ModifyInstanceMetadataOptionsResponse");
    let after_options = after.get("instanceMetadataOptions");
    let requested = InstanceSettings {
        http_tokens: said(tokens, Said::Unknown),
        hop_limit: said(hop_limit, Said::Unknown),
        http_endpoint: said(endpoint, Said::Unknown),
        ..InstanceSettings::default()
    };
    // Judged on what it sets: the response's value of a field the request
    // set; whether IMDS is on at all from wherever the record says it.
    let said_after = |set: bool, value: Option<String>| {
        if set {
            said(value, Said::Unknown)
        } else {
            Said::Unknown
        }
    };
    let effective = InstanceSettings {
        http_tokens: said_after(
            !requested.http_tokens.is_unknown(),
            string(&after_options.get("httpTokens"))?,
        )
        .or(&requested.http_tokens),
        hop_limit: if requested.hop_limit.is_unknown() {
            Said::Unknown
        } else {
            said(
                after_options.get("httpPutResponseHopLimit").int()?,
                Said::Unknown,
            )
            .or(&requested.hop_limit)
        },
        http_endpoint: said(string(&after_options.get("httpEndpoint"))?, Said::Unknown)
            .or(&requested.http_endpoint),
        ..InstanceSettings::default()
    };
    let instance = string(&field(&["InstanceId", "instanceId"]))?
        .or(string(&after.get("instanceId"))?)
        .ok_or_else(|| options.get("InstanceId").error("missing"))?;
    Ok(InstanceChange {
        call: CiCall::ModifyMetadataOptions,
        instance_ids: vec![instance],
        template: None,
        requested,
        effective,
        needs_template: None,
        auto_scaling_group: None,
    })
}

/// The first of `names` that `node` carries, else the first (for the error path).
fn any_of<'a>(node: &Node<'a>, names: &[&str]) -> Node<'a> {
    names
        .iter()
        .map(|n| node.get(n))
        .find(Node::is_present)
        .unwrap_or_else(|| node.get(names[0]))
}

/// A non-empty string, or `None`.
fn string(node: &Node<'_>) -> Result<Option<String>, FieldError> {
    Ok(node
        .str()?
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string))
}

/// A version written as a number or a string.
fn version(node: &Node<'_>) -> Result<Option<String>, FieldError> {
    match node.value() {
        Some(Value::Number(_)) => Ok(node.int()?.map(|n| n.to_string())),
        _ => string(node),
    }
}

/// A CloudTrail list: `{"items": [...]}`, `[...]`, `{}`, or `{"items": {...}}`
/// (exporters that collapse a list of one).
fn list<'a>(node: &Node<'a>) -> Result<Vec<Node<'a>>, FieldError> {
    if node.is_omitted() {
        return Err(node.error("omitted by CloudTrail"));
    }
    let items = node.get("items");
    if matches!(items.value(), Some(Value::Object(_))) {
        return Ok(vec![items]);
    }
    node.items()
}

/// A query-API list in PascalCase: one object, or a list of them.
fn pascal_list<'a>(node: &Node<'a>) -> Result<Vec<Node<'a>>, FieldError> {
    if node.is_omitted() {
        return Err(node.error("omitted by CloudTrail"));
    }
    node.one_or_many()
}

/// Strings written one or many, each plain or as `{"tag": n, "content": "…"}`.
fn tagged_strings(node: &Node<'_>) -> Result<Vec<String>, FieldError> {
    let elements = match node.value() {
        None => return Ok(Vec::new()),
        Some(Value::String(_)) => vec![node.clone()],
        Some(Value::Array(_) | Value::Object(_)) => pascal_list(node)?,
        Some(other) => {
            return Err(node.error(format!(
                "expected a string or a list, found {}",
                kind(other)
            )))
        }
    };
    let mut out = Vec::new();
    for element in elements {
        let value = match element.value() {
            Some(Value::String(_)) => string(&element)?,
            _ => string(&element.get("content"))?,
        };
        match value {
            Some(v) => out.push(v),
            None => return Err(element.error("expected a group id")),
        }
    }
    Ok(out)
}

/// `groupSet.items[].groupId` (else `groupName`).
fn group_ids(node: &Node<'_>) -> Result<Vec<String>, FieldError> {
    let mut out = Vec::new();
    for item in list(node)? {
        match string(&item.get("groupId"))?.or(string(&item.get("groupName"))?) {
            Some(id) => out.push(id),
            None => return Err(item.get("groupId").error("missing")),
        }
    }
    Ok(out)
}

/// Any interface with a public IP makes the launch public; an explicit
/// `false` counts only when no interface says `true`.
fn merge_public_ip(so_far: Option<bool>, this: Option<bool>) -> Option<bool> {
    match (so_far, this) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), _) | (_, Some(false)) => Some(false),
        _ => None,
    }
}

fn dedup(mut values: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    values.retain(|v| seen.insert(v.clone()));
    values
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(name: &str, request: Value, response: Value) -> Event {
        let record = json!({"eventID": "e", "eventName": name, "eventSource": "ec2.amazonaws.com",
            "requestParameters": request, "responseElements": response});
        Event::from_value(&record, "t").unwrap()
    }

    fn change(name: &str, request: Value, response: Value) -> InstanceChange {
        InstanceChange::from_event(&record(name, request, response))
            .unwrap()
            .unwrap()
    }

    fn error(name: &str, request: Value, response: Value) -> FieldError {
        InstanceChange::from_event(&record(name, request, response)).unwrap_err()
    }

    #[test]
    fn a_launch_is_judged_on_its_response_then_its_request_then_the_defaults() {
        let c = change(
            RUN_INSTANCES,
            json!({"instancesSet": {"items": [{"imageId": "ami-1", "minCount": 1, "maxCount": 1, "keyName": "ops"}]},
                   "networkInterfaceSet": {"items": [{"deviceIndex": 0, "subnetId": "subnet-1",
                       "associatePublicIpAddress": true, "groupSet": {"items": [{"groupId": "sg-1"}]}}]},
                   "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": "2"}}),
            json!({"instancesSet": {"items": [{"instanceId": "i-1", "keyName": "ops",
                   "metadataOptions": {"state": "pending", "httpTokens": "optional", "httpPutResponseHopLimit": 1, "httpEndpoint": "enabled"},
                   "groupSet": {"items": [{"groupId": "sg-1", "groupName": "web"}]}}]}}),
        );
        assert_eq!(c.instance_ids, ["i-1"]);
        assert_eq!(
            c.requested.hop_limit,
            Said::Set(2),
            "a string-typed hop limit"
        );
        assert_eq!(
            c.effective.http_tokens,
            Said::Set("optional".into()),
            "the response wins"
        );
        assert_eq!(c.effective.hop_limit, Said::Set(1));
        assert_eq!(
            c.effective.public_ip,
            Said::Set(true),
            "the request says where the response does not"
        );
        assert_eq!(c.effective.key_name, Said::Set("ops".into()));
        assert_eq!(
            c.effective.instance_profile,
            Said::Default,
            "no profile asked: none"
        );
        assert_eq!(c.effective.groups(), ["sg-1"]);
        assert_eq!(c.needs_template, None);
        assert_eq!(c.resource(), "i-1");
        // Nothing said anywhere: AWS's defaults.
        let bare = change(
            RUN_INSTANCES,
            json!({"instancesSet": {"items": {"imageId": "ami-1", "minCount": 1, "maxCount": 1}}}),
            json!(null),
        );
        assert_eq!(bare.effective.http_tokens, Said::Default);
        assert_eq!(bare.effective.public_ip, Said::Default);
        assert_eq!(bare.effective.security_groups, Said::Default);
        assert_eq!(bare.resource(), "instances of ami-1");
    }

    #[test]
    fn a_launch_from_a_template_names_the_version_to_read() {
        let c = change(
            RUN_INSTANCES,
            json!({"instancesSet": {"items": [{"minCount": 1, "maxCount": 1}]},
                   "launchTemplate": {"launchTemplateId": "lt-1", "version": 3}}),
            json!({"instancesSet": {"items": [{"instanceId": "i-1",
                   "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 2}}]}}),
        );
        let wanted = TemplateRef {
            id: Some("lt-1".into()),
            name: None,
            version: "3".into(),
        };
        assert_eq!(c.needs_template.as_ref(), Some(&wanted));
        assert_eq!(c.effective.http_tokens, Said::Set("required".into()));
        assert_eq!(c.effective.key_name, Said::Unknown, "never 'no key'");
        assert_eq!(c.effective.public_ip, Said::Unknown);
        let read = InstanceSettings {
            key_name: Said::Set("ops".into()),
            http_tokens: Said::Set("optional".into()),
            ..InstanceSettings::default()
        };
        let filled = c.with_template(&read);
        assert_eq!(filled.needs_template, None);
        assert_eq!(filled.effective.key_name, Said::Set("ops".into()));
        assert_eq!(
            filled.effective.http_tokens,
            Said::Set("required".into()),
            "the launch's own setting wins over the template's"
        );
        assert_eq!(filled.effective.public_ip, Said::Default);
        // No version named: the default version.
        let c = change(
            RUN_INSTANCES,
            json!({"launchTemplate": {"launchTemplateName": "ecs-nodes"}}),
            json!(null),
        );
        assert_eq!(
            c.needs_template.unwrap().to_string(),
            "launch template ecs-nodes version $Default"
        );
    }

    #[test]
    fn template_data_in_the_query_api_shape() {
        let c = change(
            CREATE_LAUNCH_TEMPLATE,
            json!({"CreateLaunchTemplateRequest": {"LaunchTemplateName": "ecs-nodes", "LaunchTemplateData": {
                "KeyName": "ops", "UserData": "<sensitiveDataRemoved>",
                "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 2},
                "IamInstanceProfile": {"Arn": "arn:aws:iam::1:instance-profile/ecsInstanceRole"},
                "SecurityGroupId": [{"tag": 1, "content": "sg-1"}, {"tag": 2, "content": "sg-2"}],
                "NetworkInterface": {"tag": 1, "DeviceIndex": 0, "AssociatePublicIpAddress": "true",
                    "SecurityGroupId": {"tag": 1, "content": "sg-3"}}}}}),
            json!({"CreateLaunchTemplateResponse": {"launchTemplate": {"launchTemplateId": "lt-9",
                "launchTemplateName": "ecs-nodes", "latestVersionNumber": 1}}}),
        );
        assert_eq!(c.call, CiCall::CreateLaunchTemplate);
        assert_eq!(c.effective.hop_limit, Said::Set(2));
        assert_eq!(c.effective.public_ip, Said::Set(true));
        assert_eq!(c.effective.groups(), ["sg-1", "sg-2", "sg-3"]);
        assert_eq!(
            c.effective.instance_profile,
            Said::Set("arn:aws:iam::1:instance-profile/ecsInstanceRole".into())
        );
        assert_eq!(c.resource(), "launch template ecs-nodes (lt-9) version 1");
        // A version based on another takes the rest from it: read, never assumed.
        let v = change(
            CREATE_LAUNCH_TEMPLATE_VERSION,
            json!({"CreateLaunchTemplateVersionRequest": {"LaunchTemplateId": "lt-9", "SourceVersion": "1",
                "LaunchTemplateData": {"MetadataOptions": {"HttpTokens": "optional"}}}}),
            json!({"CreateLaunchTemplateVersionResponse": {"launchTemplateVersion": {"launchTemplateId": "lt-9", "versionNumber": 2}}}),
        );
        assert_eq!(v.effective.http_tokens, Said::Set("optional".into()));
        assert_eq!(v.effective.key_name, Said::Unknown);
        assert_eq!(v.needs_template.unwrap().version, "2");
        // Without a source version it is whole.
        let v = change(
            CREATE_LAUNCH_TEMPLATE_VERSION,
            json!({"CreateLaunchTemplateVersionRequest": {"LaunchTemplateName": "ecs-nodes",
                "LaunchTemplateData": {"InstanceType": "t3.micro"}}}),
            json!(null),
        );
        assert_eq!(v.effective.key_name, Said::Default);
        assert_eq!(v.needs_template, None);
    }

    #[test]
    fn a_metadata_update_is_judged_on_what_it_sets() {
        let c = change(
            MODIFY_INSTANCE_METADATA_OPTIONS,
            json!({"ModifyInstanceMetadataOptionsRequest": {"InstanceId": "i-1", "HttpTokens": "optional"}}),
            json!({"ModifyInstanceMetadataOptionsResponse": {"instanceId": "i-1", "instanceMetadataOptions": {
                "state": "pending", "httpTokens": "optional", "httpPutResponseHopLimit": 3, "httpEndpoint": "enabled"}}}),
        );
        assert_eq!(c.effective.http_tokens, Said::Set("optional".into()));
        assert_eq!(c.effective.hop_limit, Said::Unknown, "not set by this call");
        assert_eq!(c.effective.key_name, Said::Unknown);
        assert_eq!(c.resource(), "i-1");
        // The flattened shape some exporters write.
        let c = change(
            MODIFY_INSTANCE_METADATA_OPTIONS,
            json!({"instanceId": "i-2", "httpPutResponseHopLimit": "4"}),
            json!(null),
        );
        assert_eq!(c.effective.hop_limit, Said::Set(4));
    }

    #[test]
    fn nothing_to_judge_is_an_error_naming_the_field() {
        for (name, request, path) in [
            (
                RUN_INSTANCES,
                json!({"instanceType": "t3.micro"}),
                "requestParameters.instancesSet",
            ),
            (
                RUN_INSTANCES,
                json!({"instancesSet": {"omitted": true}}),
                "requestParameters.instancesSet",
            ),
            (
                RUN_INSTANCES,
                json!({"launchTemplate": {"version": "1"}}),
                "requestParameters.launchTemplate",
            ),
            (
                RUN_INSTANCES,
                json!({"instancesSet": {"items": [{"imageId": "ami-1"}]}, "metadataOptions": {"omitted": true}}),
                "requestParameters.metadataOptions",
            ),
            (
                RUN_INSTANCES,
                json!({"instancesSet": {"items": [{"imageId": "ami-1"}]}, "metadataOptions": {"httpPutResponseHopLimit": "two"}}),
                "requestParameters.metadataOptions.httpPutResponseHopLimit",
            ),
            (
                CREATE_LAUNCH_TEMPLATE,
                json!({"CreateLaunchTemplateRequest": {"LaunchTemplateName": "x"}}),
                "requestParameters.CreateLaunchTemplateRequest.LaunchTemplateData",
            ),
            (
                CREATE_LAUNCH_TEMPLATE,
                json!({"CreateLaunchTemplateRequest": {"LaunchTemplateName": "x", "LaunchTemplateData": {"omitted": true}}}),
                "requestParameters.CreateLaunchTemplateRequest.LaunchTemplateData",
            ),
            (
                CREATE_LAUNCH_TEMPLATE_VERSION,
                json!({"x": 1}),
                "requestParameters.CreateLaunchTemplateVersionRequest",
            ),
            (
                MODIFY_INSTANCE_METADATA_OPTIONS,
                json!({"ModifyInstanceMetadataOptionsRequest": {"InstanceId": "i-1"}}),
                "requestParameters.ModifyInstanceMetadataOptionsRequest",
            ),
            (RUN_INSTANCES, json!({"omitted": true}), "requestParameters"),
        ] {
            let err = error(name, request, json!(null));
            assert_eq!(err.path, path, "{name}: {err}");
        }
    }

    #[test]
    fn other_services_and_calls_are_not_read() {
        let mut e = record(RUN_INSTANCES, json!({"x": 1}), json!(null));
        e.source = "ecs.amazonaws.com".into();
        assert_eq!(InstanceChange::from_event(&e).unwrap(), None);
        let e = record("StartInstances", json!({"x": 1}), json!(null));
        assert_eq!(InstanceChange::from_event(&e).unwrap(), None);
    }
}
