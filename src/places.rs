//! The bookkeeping of the pixel's executor (`web::job`), without JS, so
//! that its rules are tested natively: each task has a place (reused once
//! its task is done); a woken task waits in the run queue once, however
//! often it is woken; the first wake after a run asks for the next
//! microtask; a run takes the tasks woken before it, in wake order, and
//! those woken while it runs wait for the next one; a task is out of its
//! place while it is polled, and a wake meanwhile queues it again.

/// A task's place: the task (out of it while it is polled, gone once it is
/// done, when the place serves the next one), whether it is running (not
/// done), and whether it waits in the run queue.
struct Place<T> {
    task: Option<T>,
    running: bool,
    queued: bool,
}

/// The places and the run queue.
pub struct Places<T> {
    places: Vec<Place<T>>,
    queue: Vec<usize>,
}

impl<T> Places<T> {
    /// None yet.
    pub const fn new() -> Places<T> {
        Places {
            places: Vec::new(),
            queue: Vec::new(),
        }
    }

    /// Puts a new task in the first free place, woken; its place, and
    /// whether a run must be asked for (see [`Places::wake`]).
    pub fn insert(&mut self, task: T) -> (usize, bool) {
        let free = self.places.iter().position(|p| !p.running).unwrap_or(self.places.len());
        let place = Place {
            task: Some(task),
            running: true,
            queued: false,
        };
        match self.places.get_mut(free) {
            Some(slot) => *slot = place,
            None => self.places.push(place),
        }
        (free, self.wake(free))
    }

    /// Queues the running task at `place` once; true when the queue was
    /// empty, so that this wake must ask for a run.
    pub fn wake(&mut self, place: usize) -> bool {
        let Some(slot) = self.places.get_mut(place).filter(|p| p.running && !p.queued) else {
            return false;
        };
        slot.queued = true;
        self.queue.push(place);
        self.queue.len() == 1
    }

    /// The places woken since the last run, in wake order; a wake from now
    /// on asks for the next run.
    pub fn take_queue(&mut self) -> Vec<usize> {
        std::mem::take(&mut self.queue)
    }

    /// Takes the task at `place` out to poll it (`None`: done, or out
    /// already); a wake while it is out queues it again.
    pub fn take(&mut self, place: usize) -> Option<T> {
        let slot = self.places.get_mut(place)?;
        slot.queued = false;
        slot.task.take()
    }

    /// Puts back a task that is not done.
    pub fn put_back(&mut self, place: usize, task: T) {
        if let Some(slot) = self.places.get_mut(place) {
            slot.task = Some(task);
        }
    }

    /// The task at `place` is done: the place is free for the next.
    pub fn finish(&mut self, place: usize) {
        if let Some(slot) = self.places.get_mut(place) {
            *slot = Place {
                task: None,
                running: false,
                queued: false,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_asked_for_once_and_takes_what_was_woken_before_it() {
        let mut places = Places::new();
        assert_eq!(places.insert("a"), (0, true), "the first wake asks for a run");
        assert_eq!(places.insert("b"), (1, false), "the run is asked for already");
        assert!(!places.wake(0), "woken twice, queued once");
        assert_eq!(places.take_queue(), [0, 1], "in wake order");
        assert_eq!(places.take(0), Some("a"));
        assert!(places.wake(0), "woken while polled: queued, the next run asked for");
        assert!(!places.wake(1), "woken before its turn in this run: polled in it, once");
        assert_eq!(places.take(1), Some("b"));
        assert_eq!(places.take_queue(), [0], "only a runs again");
    }

    #[test]
    fn the_first_wake_after_a_run_asks_for_the_next_whichever_task_it_is() {
        let mut places = Places::new();
        places.insert("a");
        places.insert("b");
        places.take_queue();
        for place in [0, 1] {
            let task = places.take(place).expect("queued");
            places.put_back(place, task);
        }
        assert!(places.wake(1), "b alone woken: a run is asked for");
        assert!(!places.wake(0));
        assert_eq!(places.take_queue(), [1, 0]);
    }

    #[test]
    fn a_done_task_frees_its_place_and_a_late_wake_is_nothing() {
        let mut places = Places::new();
        places.insert("a");
        places.take_queue();
        assert_eq!(places.take(0), Some("a"));
        places.finish(0);
        assert!(!places.wake(0), "a waker kept after its task is done wakes nothing");
        assert_eq!(places.take_queue(), Vec::<usize>::new());
        assert_eq!(places.insert("b").0, 0, "the place serves the next task");
        places.take_queue();
        assert_eq!(places.take(0), Some("b"));
        places.put_back(0, "b");
        assert!(places.wake(0));
        assert_eq!(places.take_queue(), [0]);
        assert_eq!(places.take(0), Some("b"), "put back, polled again");
        assert_eq!(places.take(0), None, "out while polled");
    }
}
