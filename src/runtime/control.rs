//! What the worker's control plane can be asked, in Kafka Connect's terms: the herder's side of
//! the REST API, the `kconnect` client commands and SIGHUP reloads. The REST layer turns these
//! values into Connect's JSON bodies and `ControlError` into its `{"error_code", "message"}`
//! answers; it never reaches into the worker itself.

use std::collections::BTreeMap;

use serde_json::{Map as JsonMap, Value as Json};

use crate::api::PluginKind;
use crate::config::{TargetState, WorkerConfig};

/// A connector's or a task's state, as Connect's status endpoints name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Unassigned,
    Running,
    Paused,
    Stopped,
    Failed,
    Restarting,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Unassigned => "UNASSIGNED",
            State::Running => "RUNNING",
            State::Paused => "PAUSED",
            State::Stopped => "STOPPED",
            State::Failed => "FAILED",
            State::Restarting => "RESTARTING",
        }
    }
}

/// One connector's or task's state; `trace` is set only for FAILED (Connect's stack trace;
/// here the error and its causes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateInfo {
    pub state: State,
    pub trace: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskStatus {
    pub id: usize,
    pub status: StateInfo,
}

/// `GET /connectors/{name}/status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectorStatus {
    pub name: String,
    pub connector: StateInfo,
    pub tasks: Vec<TaskStatus>,
    /// `Source` or `Sink`.
    pub kind: PluginKind,
    /// The connector plugin's version, which Connect reports in every state entry
    /// (`PluginDesc::version`).
    pub version: &'static str,
}

/// `GET /connectors/{name}`: the config exactly as written (config provider references left
/// unresolved, so no secret behind `${file:...}` is ever served) and the task ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectorInfo {
    pub name: String,
    pub config: BTreeMap<String, String>,
    pub tasks: Vec<usize>,
    pub kind: PluginKind,
}

/// One stored offset as Connect's offsets endpoints show it: `{"partition": .., "offset": ..}`.
/// Sinks use Connect's `kafka_topic`/`kafka_partition` and `kafka_offset` keys.
#[derive(Clone, Debug, PartialEq)]
pub struct OffsetView {
    pub partition: JsonMap<String, Json>,
    /// `None` in an alter request deletes the partition's offset.
    pub offset: Option<JsonMap<String, Json>>,
}

/// Why a control request was refused; each kind is one HTTP status, the message Connect's
/// wording where Connect has one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// 404: no such connector, task or plugin.
    #[error("{0}")]
    NotFound(String),
    /// 409: the name is taken, or the request needs another state (offsets of a running
    /// connector are 400 in Connect; see `BadRequest`).
    #[error("{0}")]
    Conflict(String),
    /// 400: the request itself is wrong: an invalid config, an offset of the wrong shape, a
    /// connector that must be STOPPED first.
    #[error("{0}")]
    BadRequest(String),
    /// 500: the worker could not do it (the offsets store failed, a file could not be written).
    #[error("{0}")]
    Internal(String),
}

impl ControlError {
    pub fn http_status(&self) -> u16 {
        match self {
            ControlError::NotFound(_) => 404,
            ControlError::Conflict(_) => 409,
            ControlError::BadRequest(_) => 400,
            ControlError::Internal(_) => 500,
        }
    }

    pub fn connector_not_found(name: &str) -> ControlError {
        ControlError::NotFound(format!("Connector {name} not found"))
    }
}

/// The herder, as the REST API and reloads see it. Every method answers at once: what takes
/// time (tasks stopping and starting) happens on the worker's supervision loop afterwards, and
/// the status endpoints show its progress (RESTARTING, then RUNNING or FAILED).
pub trait Control: Send + Sync {
    /// The worker's id in status bodies (`host:port` of the advertised listener).
    fn worker_id(&self) -> String;
    fn worker_config(&self) -> &WorkerConfig;

    /// Connector names, sorted.
    fn connectors(&self) -> Vec<String>;
    fn info(&self, name: &str) -> Result<ConnectorInfo, ControlError>;
    fn status(&self, name: &str) -> Result<ConnectorStatus, ControlError>;

    /// `POST /connectors`: 409 when the name exists; an invalid config is 400 with every
    /// problem. The connector file is written before the call returns.
    fn create(
        &self,
        name: &str,
        config: BTreeMap<String, String>,
        initial: TargetState,
    ) -> Result<ConnectorInfo, ControlError>;
    /// `PUT /connectors/{name}/config`: creates (`true`) or replaces the config; a replaced
    /// connector restarts with it.
    fn put_config(
        &self,
        name: &str,
        config: BTreeMap<String, String>,
    ) -> Result<(bool, ConnectorInfo), ControlError>;
    /// `PATCH /connectors/{name}/config` (KIP-477): `None` removes the key.
    fn patch_config(
        &self,
        name: &str,
        patch: BTreeMap<String, Option<String>>,
    ) -> Result<ConnectorInfo, ControlError>;
    /// Stops the tasks, removes the file; the offsets stay in the store.
    fn delete(&self, name: &str) -> Result<(), ControlError>;

    /// `PUT /pause`, `/resume`, `/stop`; the state survives a restart of kconnect.
    fn set_target_state(&self, name: &str, state: TargetState) -> Result<(), ControlError>;
    /// `POST /connectors/{name}/restart`: the status with the instances being restarted
    /// marked RESTARTING.
    fn restart(
        &self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> Result<ConnectorStatus, ControlError>;
    fn restart_task(&self, name: &str, task: usize) -> Result<(), ControlError>;

    /// `GET /connectors/{name}/topics`: the topics the connector used since the last reset.
    fn topics(&self, name: &str) -> Result<Vec<String>, ControlError>;
    fn reset_topics(&self, name: &str) -> Result<(), ControlError>;

    /// KIP-875. Reading works in any state; altering and resetting only on a STOPPED
    /// connector (400 otherwise, as Connect).
    fn offsets(&self, name: &str) -> Result<Vec<OffsetView>, ControlError>;
    fn alter_offsets(&self, name: &str, offsets: Vec<OffsetView>) -> Result<(), ControlError>;
    fn reset_offsets(&self, name: &str) -> Result<(), ControlError>;

    /// `GET /metrics`: Prometheus text exposition of the worker's, connectors' and tasks'
    /// metrics.
    fn prometheus(&self) -> String;
}
