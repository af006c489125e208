//! Regression tests: each replays a seed (or a hand-made history) that once broke an invariant,
//! and opens with the story of its bug.
