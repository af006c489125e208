//! The Planner's pure logic.
