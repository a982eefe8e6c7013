//! Where a function runs and where it acts: the keys of the per-place clients.

/// Where a function runs: its own account and region, and who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    pub account: String,
    pub region: String,
    /// `aws`, `aws-cn`, `aws-us-gov`: member role ARNs are built in it.
    pub partition: String,
    /// The function's name: the session name of the roles it assumes.
    pub function: String,
}

impl Home {
    /// From the invoked function's ARN (`arn:aws:lambda:<region>:<account>:function:<name>`).
    pub fn from_function_arn(arn: &str) -> Option<Home> {
        let parts: Vec<&str> = arn.split(':').collect();
        let ["arn", partition, "lambda", region, account, "function", function, ..] = parts[..]
        else {
            return None;
        };
        let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
        (account_ok && !region.is_empty() && !partition.is_empty() && !function.is_empty()).then(
            || Home {
                account: account.to_string(),
                region: region.to_string(),
                partition: partition.to_string(),
                function: function.to_string(),
            },
        )
    }
}

/// Where a guard acts on an event: the event's own account and region
/// (DESIGN §11), with the function's own credentials when that is `home`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Place {
    pub account: String,
    pub region: String,
}

impl Place {
    /// True when this is where the function runs.
    pub fn is_home(&self, home: &Home) -> bool {
        self.account == home.account && self.region == home.region
    }
}
