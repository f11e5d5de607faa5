//! Auth0 Actions: the sandboxed engine that runs their code (`engine`). The Management API
//! for actions and the flows that run them at login are issue 16's next step (see
//! ARCHITECTURE.md).

pub mod engine;
