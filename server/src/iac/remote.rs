//! Pushing the branch with the `git` program: it speaks every transport (HTTPS, SSH, a
//! path) and takes credentials the way operators already provide them. The token for an
//! HTTPS remote reaches git through a credential helper reading the environment, never the
//! command line (which `ps` shows) or the log.

use std::{path::Path, process::Stdio, time::Duration};

use secrecy::{ExposeSecret, SecretString};

use super::{IacError, IacSettings};

pub(super) struct Remote {
    url: String,
    ssh_key: Option<std::path::PathBuf>,
    https_username: String,
    https_token: Option<SecretString>,
    timeout: Duration,
}

/// A helper that answers git's credential question from the environment.
const CREDENTIAL_HELPER: &str = "credential.helper=!f() { test \"$1\" = get || exit 0; \
     echo \"username=$STARGATE_IAC_USERNAME\"; echo \"password=$STARGATE_IAC_TOKEN\"; }; f";

impl Remote {
    pub(super) fn new(url: &str, settings: &IacSettings) -> Self {
        Self {
            url: url.to_owned(),
            ssh_key: settings.ssh_key.clone(),
            https_username: settings.https_username.clone(),
            https_token: settings.https_token.clone(),
            timeout: Duration::from_secs(settings.push_timeout_seconds.max(1)),
        }
    }

    /// Pushes `branch` of the repository at `repo` to the same branch of the remote; the
    /// remote's own words when it refuses.
    pub(super) async fn push(&self, repo: &Path, branch: &str) -> Result<(), IacError> {
        let refspec = format!("refs/heads/{branch}:refs/heads/{branch}");
        self.run(repo, &["push", "--porcelain", "--quiet"], &refspec)
            .await
            .map(drop)
    }

    /// The remote's commit for `branch` (`None` if it has no such branch).
    pub(super) async fn tip(&self, repo: &Path, branch: &str) -> Result<Option<String>, IacError> {
        let out = self
            .run(repo, &["ls-remote"], &format!("refs/heads/{branch}"))
            .await?;
        Ok(out.split_whitespace().next().map(str::to_owned))
    }

    /// `git <args> <remote> <last>` in `repo` with the remote's credentials; its output.
    async fn run(&self, repo: &Path, args: &[&str], last: &str) -> Result<String, IacError> {
        let mut git = tokio::process::Command::new("git");
        git.arg("-C")
            .arg(repo)
            // No helper configured elsewhere answers first, and nothing prompts.
            .args(["-c", "credential.helper="])
            .args(["-c", CREDENTIAL_HELPER])
            .args(args)
            .arg(&self.url)
            .arg(last)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("STARGATE_IAC_USERNAME", &self.https_username)
            .env(
                "STARGATE_IAC_TOKEN",
                self.https_token
                    .as_ref()
                    .map(|t| t.expose_secret())
                    .unwrap_or_default(),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(key) = &self.ssh_key {
            git.env(
                "GIT_SSH_COMMAND",
                format!(
                    "ssh -i '{}' -o IdentitiesOnly=yes -o BatchMode=yes",
                    key.display().to_string().replace('\'', "'\\''")
                ),
            );
        }
        let output = tokio::time::timeout(self.timeout, git.output())
            .await
            .map_err(|_| {
                IacError::Push(format!(
                    "no answer from {} within {} s",
                    self.url,
                    self.timeout.as_secs()
                ))
            })?
            .map_err(|e| IacError::Push(format!("cannot run git: {e}")))?;
        if output.status.success() {
            return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
        }
        Err(IacError::Push(refusal(&output.stdout, &output.stderr)))
    }
}

/// What git and the remote said, on one line: `remote:` lines and the rejection, without
/// git's advice.
fn refusal(stdout: &[u8], stderr: &[u8]) -> String {
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(stderr),
        String::from_utf8_lossy(stdout)
    );
    let said: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty()
                && !l.starts_with("hint:")
                && !l.starts_with("To ")
                && *l != "Done"
                && *l != "remote:"
        })
        .collect();
    if said.is_empty() {
        "git push failed without saying why".into()
    } else {
        said.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::refusal;

    #[test]
    fn the_refusal_keeps_what_the_remote_said_and_drops_advice() {
        let stderr = b"remote: main is protected: changes come through review\n\
            remote: \nTo /srv/iac.git\nhint: Updates were rejected\n\
            error: failed to push some refs to '/srv/iac.git'\n";
        let stdout = b"To /srv/iac.git\n!\trefs/heads/main:refs/heads/main\t[remote rejected] (pre-receive hook declined)\nDone\n";
        assert_eq!(
            refusal(stdout, stderr),
            "remote: main is protected: changes come through review; \
             error: failed to push some refs to '/srv/iac.git'; \
             !\trefs/heads/main:refs/heads/main\t[remote rejected] (pre-receive hook declined)"
        );
        assert_eq!(refusal(b"", b""), "git push failed without saying why");
    }
}
