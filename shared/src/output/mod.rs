//! What comes out of a guard: the verdict on one event and its alert.

pub mod asff;
pub mod chatbot;
pub mod notify;
