//! The user account's session (authorisation keys, datacenter, update state, peer cache) in a
//! file only its owner can read. It is a credential: it never goes into an event or a log.

use std::collections::HashMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use grammers_session::types::{
    ChannelState, DcOption, PeerId, PeerInfo, UpdateState, UpdatesState,
};
use grammers_session::{BoxFuture, Session, SessionData};
use serde::{Deserialize, Serialize};

const OWNER_ONLY: u32 = 0o600;

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("session file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("session file {path} is not a session: {source}")]
    Corrupt {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("session lock poisoned")]
    Poisoned,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    home_dc: i32,
    dc_options: Vec<DcOption>,
    peers: Vec<PeerInfo>,
    updates_state: UpdatesState,
}

struct State {
    home_dc: i32,
    dc_options: HashMap<i32, DcOption>,
    peers: HashMap<PeerId, PeerInfo>,
    updates_state: UpdatesState,
}

/// A [`Session`] kept in memory and written through to a 0600 file on every change (atomic
/// rename, so a crash leaves the old or the new session, never half of one).
pub struct FileSession {
    path: PathBuf,
    state: Mutex<State>,
}

impl std::fmt::Debug for FileSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The keys inside are credentials: show where the session lives, nothing else.
        f.debug_struct("FileSession")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl FileSession {
    /// Opens the session at `path`, or a new, empty one when the file does not exist. A file
    /// others can read is made owner-only.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, SessionError> {
        let path = path.into();
        let io = |source| SessionError::Io {
            path: path.clone(),
            source,
        };
        let state = match fs::read(&path) {
            Ok(bytes) => {
                let mode = fs::metadata(&path).map_err(io)?.permissions().mode();
                if mode & 0o077 != 0 {
                    tracing::warn!(path = %path.display(), "session file was readable by others; made owner-only");
                    fs::set_permissions(&path, fs::Permissions::from_mode(OWNER_ONLY))
                        .map_err(io)?;
                }
                let stored: Stored =
                    serde_json::from_slice(&bytes).map_err(|source| SessionError::Corrupt {
                        path: path.clone(),
                        source,
                    })?;
                State {
                    home_dc: stored.home_dc,
                    dc_options: stored.dc_options.into_iter().map(|o| (o.id, o)).collect(),
                    peers: stored.peers.into_iter().map(|p| (p.id(), p)).collect(),
                    updates_state: stored.updates_state,
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let data = SessionData::default();
                State {
                    home_dc: data.home_dc,
                    dc_options: data.dc_options,
                    peers: data.peer_infos,
                    updates_state: data.updates_state,
                }
            }
            Err(e) => return Err(io(e)),
        };
        Ok(Self {
            path,
            state: Mutex::new(state),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the session holds an authorisation key bound to a signed-in user.
    pub fn is_signed_in(&self) -> bool {
        self.lock()
            .map(|state| state.peers.values().any(is_self))
            .unwrap_or(false)
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>, SessionError> {
        self.state.lock().map_err(|_| SessionError::Poisoned)
    }

    fn change(&self, edit: impl FnOnce(&mut State)) -> Result<(), SessionError> {
        let mut state = self.lock()?;
        edit(&mut state);
        self.save(&state)
    }

    fn save(&self, state: &State) -> Result<(), SessionError> {
        let stored = Stored {
            home_dc: state.home_dc,
            dc_options: state.dc_options.values().cloned().collect(),
            peers: state.peers.values().cloned().collect(),
            updates_state: state.updates_state.clone(),
        };
        let io = |source| SessionError::Io {
            path: self.path.clone(),
            source,
        };
        let bytes = serde_json::to_vec(&stored).map_err(|source| SessionError::Corrupt {
            path: self.path.clone(),
            source,
        })?;
        let temporary = self.path.with_extension("tmp");
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(OWNER_ONLY)
            .open(&temporary)
            .map_err(io)?;
        // A pre-existing temporary file keeps its old mode: enforce ours.
        file.set_permissions(fs::Permissions::from_mode(OWNER_ONLY))
            .map_err(io)?;
        file.write_all(&bytes).map_err(io)?;
        file.sync_all().map_err(io)?;
        fs::rename(&temporary, &self.path).map_err(io)
    }
}

/// The signed-in account's own user: what `PeerId::self_user()` stands for.
fn is_self(peer: &PeerInfo) -> bool {
    matches!(
        peer,
        PeerInfo::User {
            is_self: Some(true),
            ..
        }
    )
}

impl Session for FileSession {
    type Error = SessionError;

    fn home_dc_id(&self) -> Result<i32, SessionError> {
        Ok(self.lock()?.home_dc)
    }

    fn set_home_dc_id(&self, dc_id: i32) -> BoxFuture<'_, Result<(), SessionError>> {
        Box::pin(async move { self.change(|state| state.home_dc = dc_id) })
    }

    fn dc_option(&self, dc_id: i32) -> Result<Option<DcOption>, SessionError> {
        Ok(self.lock()?.dc_options.get(&dc_id).cloned())
    }

    fn set_dc_option(&self, dc_option: &DcOption) -> BoxFuture<'_, Result<(), SessionError>> {
        let dc_option = dc_option.clone();
        Box::pin(async move {
            self.change(|state| {
                state.dc_options.insert(dc_option.id, dc_option);
            })
        })
    }

    fn peer(&self, peer: PeerId) -> BoxFuture<'_, Result<Option<PeerInfo>, SessionError>> {
        Box::pin(async move {
            let state = self.lock()?;
            if peer == PeerId::self_user() {
                return Ok(state.peers.values().find(|p| is_self(p)).cloned());
            }
            Ok(state.peers.get(&peer).cloned())
        })
    }

    fn cache_peer(&self, peer: PeerInfo) -> BoxFuture<'_, Result<(), SessionError>> {
        Box::pin(async move {
            let mut state = self.lock()?;
            let changed = match state.peers.get_mut(&peer.id()) {
                Some(known) => known.extend_info(&peer),
                None => {
                    state.peers.insert(peer.id(), peer);
                    true
                }
            };
            if changed {
                self.save(&state)?;
            }
            Ok(())
        })
    }

    fn updates_state(&self) -> BoxFuture<'_, Result<UpdatesState, SessionError>> {
        Box::pin(async move { Ok(self.lock()?.updates_state.clone()) })
    }

    fn set_update_state(&self, update: UpdateState) -> BoxFuture<'_, Result<(), SessionError>> {
        Box::pin(async move {
            self.change(|state| {
                let updates = &mut state.updates_state;
                match update {
                    UpdateState::All(all) => *updates = all,
                    UpdateState::Primary { pts, date, seq } => {
                        updates.pts = pts;
                        updates.date = date;
                        updates.seq = seq;
                    }
                    UpdateState::Secondary { qts } => updates.qts = qts,
                    UpdateState::Channel { id, pts } => {
                        updates.channels.retain(|c| c.id != id);
                        updates.channels.push(ChannelState { id, pts });
                    }
                }
            })
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn the_session_survives_a_restart_in_an_owner_only_file() {
        // given a new session in a fresh directory
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("telegram.session");
        let session = FileSession::open(&path).unwrap();
        assert!(!session.is_signed_in());
        // when the client changes its home datacenter and update state
        session.set_home_dc_id(4).await.unwrap();
        session
            .set_update_state(UpdateState::Channel { id: 77, pts: 1234 })
            .await
            .unwrap();
        // then the file is owner-only and a reopened session has the same state
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let reopened = FileSession::open(&path).unwrap();
        assert_eq!(reopened.home_dc_id().unwrap(), 4);
        let state = reopened.updates_state().await.unwrap();
        assert_eq!(state.channels, vec![ChannelState { id: 77, pts: 1234 }]);
        assert_eq!(reopened.dc_option(2).unwrap().map(|o| o.id), Some(2));
        assert!(!format!("{reopened:?}").contains("auth_key"));
        // and once the client caches the signed-in user, the session counts as signed in
        let me = PeerInfo::User {
            id: 5,
            auth: None,
            bot: Some(false),
            is_self: Some(true),
        };
        reopened.cache_peer(me.clone()).await.unwrap();
        let reopened = FileSession::open(&path).unwrap();
        assert!(reopened.is_signed_in());
        assert_eq!(reopened.peer(PeerId::self_user()).await.unwrap(), Some(me));
    }

    #[test]
    fn a_session_file_others_can_read_is_made_owner_only_and_junk_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("telegram.session");
        let session = FileSession::open(&path).unwrap();
        session.save(&session.lock().unwrap()).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        FileSession::open(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);

        fs::write(&path, b"not a session").unwrap();
        let error = FileSession::open(&path).unwrap_err();
        assert!(error.to_string().contains("is not a session"), "{error}");
    }
}
