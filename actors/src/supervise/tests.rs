#![allow(clippy::unwrap_used)]

use super::*;
use ractor::call_t;

/// A child that answers `Echo` and panics on `Panic`.
#[derive(Clone)]
struct Flaky;

enum FlakyMsg {
    Echo(u32, RpcReplyPort<u32>),
    Panic,
}

impl Actor for Flaky {
    type Msg = FlakyMsg;
    type State = ();
    type Arguments = ();

    async fn pre_start(&self, _: ActorRef<FlakyMsg>, _: ()) -> Result<(), ActorProcessingErr> {
        Ok(())
    }

    async fn handle(
        &self,
        _: ActorRef<FlakyMsg>,
        message: FlakyMsg,
        _: &mut (),
    ) -> Result<(), ActorProcessingErr> {
        match message {
            FlakyMsg::Echo(n, reply) => {
                let _ = reply.send(n);
            }
            FlakyMsg::Panic => panic!("flaky child asked to panic"),
        }
        Ok(())
    }
}

type Started = (
    ActorRef<SupervisorMsg>,
    mpsc::Receiver<SupervisorEvent>,
    tokio::task::JoinHandle<()>,
);

async fn start(policy: RestartPolicy) -> Started {
    let (tx, rx) = mpsc::channel(16);
    let args = SupervisorArgs {
        children: vec![ChildSpec::actor("flaky", Flaky, (), |_| {})],
        policy,
        events: Some(tx),
    };
    let (sup, handle) = Actor::spawn(None, Supervisor, args).await.unwrap();
    (sup, rx, handle)
}

async fn child(sup: &ActorRef<SupervisorMsg>) -> ActorRef<FlakyMsg> {
    let cell = call_t!(sup, SupervisorMsg::Child, 1000, "flaky".to_owned())
        .unwrap()
        .unwrap();
    ActorRef::from(cell)
}

async fn next_event(rx: &mut mpsc::Receiver<SupervisorEvent>) -> SupervisorEvent {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn a_panicked_child_is_restarted_and_serves_the_next_message() {
    let (sup, mut rx, _) = start(RestartPolicy::default()).await;
    let first = child(&sup).await;
    assert_eq!(call_t!(first, FlakyMsg::Echo, 1000, 1).unwrap(), 1);

    first.send_message(FlakyMsg::Panic).unwrap();
    assert!(matches!(
        next_event(&mut rx).await,
        SupervisorEvent::Restarting { attempt: 1, .. }
    ));
    assert_eq!(
        next_event(&mut rx).await,
        SupervisorEvent::Restarted {
            child: "flaky".into()
        }
    );

    let second = child(&sup).await;
    assert_ne!(first.get_id(), second.get_id());
    assert_eq!(call_t!(second, FlakyMsg::Echo, 1000, 2).unwrap(), 2);
    let report = call_t!(sup, SupervisorMsg::Report, 1000).unwrap();
    assert_eq!(
        report,
        vec![ChildReport {
            name: "flaky".into(),
            running: true,
            restarts: 1
        }]
    );
    sup.stop(None);
}

#[tokio::test]
async fn a_child_that_keeps_failing_fails_the_supervisor() {
    let policy = RestartPolicy {
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(1),
        max_restarts: 2,
        window: Duration::from_secs(60),
    };
    let (sup, mut rx, handle) = start(policy).await;
    for _ in 0..2 {
        child(&sup).await.send_message(FlakyMsg::Panic).unwrap();
        assert!(matches!(
            next_event(&mut rx).await,
            SupervisorEvent::Restarting { .. }
        ));
        assert!(matches!(
            next_event(&mut rx).await,
            SupervisorEvent::Restarted { .. }
        ));
    }
    child(&sup).await.send_message(FlakyMsg::Panic).unwrap();
    assert_eq!(
        next_event(&mut rx).await,
        SupervisorEvent::GaveUp {
            child: "flaky".into()
        }
    );
    // The supervisor fails and stops.
    tokio::time::timeout(Duration::from_secs(5), handle)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sup.get_status(), ractor::ActorStatus::Stopped);
}
