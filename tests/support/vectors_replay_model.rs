//! An independent, naive model of the replay guard written from SPEC.md §6
//! alone (plain vectors, linear scans, no shared code with the library). The
//! generator uses it to compute every `Replay` step's expected answer and
//! every `ReplayGuardState` byte string; tests/vectors.rs then checks the
//! library against them.

type Account = [u8; 32];
type Device = [u8; 16];
type Id = [u8; 16];

#[derive(Clone, Default)]
struct Store {
    account_floor: Option<u64>,
    floors: Vec<(Device, u64)>,
    entries: Vec<(Device, Id, u64)>,
}

impl Store {
    fn floor_of(&self, d: &Device) -> Option<u64> {
        self.floors.iter().find(|f| &f.0 == d).map(|f| f.1)
    }

    fn top(&self) -> Option<u64> {
        let a = self.account_floor.into_iter();
        let f = self.floors.iter().map(|f| f.1);
        let e = self.entries.iter().map(|e| e.2);
        a.chain(f).chain(e).max()
    }

    fn raise(&mut self, d: Device, t: u64, capacity: usize) {
        match self.floors.iter_mut().find(|f| f.0 == d) {
            Some(f) => f.1 = f.1.max(t),
            None => self.floors.push((d, t)),
        }
        while self.floors.len() > capacity {
            // The lowest floor, ties: the smallest device id.
            let i = (0..self.floors.len())
                .min_by_key(|&i| (self.floors[i].1, self.floors[i].0))
                .unwrap();
            let (_, f) = self.floors.remove(i);
            self.account_floor = Some(self.account_floor.map_or(f, |a| a.max(f)));
        }
    }

    /// Forgets the oldest entry: smallest (timestamp, device id, message id).
    fn forget_oldest(&mut self, capacity: usize) {
        let i = (0..self.entries.len())
            .min_by_key(|&i| (self.entries[i].2, self.entries[i].0, self.entries[i].1))
            .unwrap();
        let (d, _, t) = self.entries.remove(i);
        self.raise(d, t, capacity);
    }
}

/// The model guard.
#[derive(Clone)]
pub(crate) struct Model {
    max_accounts: usize,
    capacity: usize,
    window: u64,
    skew: u64,
    forgotten: Option<u64>,
    anonymous: Store,
    accounts: Vec<(Account, Store)>,
}

impl Model {
    pub(crate) fn new(capacity: u64, window: u64, skew: u64, max_accounts: u64) -> Self {
        Model {
            max_accounts: max_accounts.clamp(1, 1 << 20) as usize,
            capacity: capacity.clamp(1, 1 << 20) as usize,
            window,
            skew,
            forgotten: None,
            anonymous: Store::default(),
            accounts: Vec::new(),
        }
    }

    /// SPEC.md §6.3. `account` None: the anonymous namespace (device zero).
    pub(crate) fn check(
        &mut self,
        account: Option<Account>,
        device: Device,
        id: Id,
        t: u64,
        now: u64,
    ) -> &'static str {
        let device = if account.is_none() { [0; 16] } else { device };
        if t > now.saturating_add(self.skew) {
            return "ReplayError::FromTheFuture";
        }
        let edge = now.saturating_sub(self.window);
        if t < edge {
            return "ReplayError::TooOld";
        }
        let pos = account.map(|a| self.accounts.iter().position(|x| x.0 == a));
        let existing = match pos {
            None => Some(&self.anonymous),
            Some(Some(i)) => Some(&self.accounts[i].1),
            Some(None) => None,
        };
        if let Some(s) = existing {
            if s.account_floor.is_some_and(|f| t <= f)
                || s.floor_of(&device).is_some_and(|f| t <= f)
            {
                return "ReplayError::TooOld";
            }
            if s.entries
                .iter()
                .any(|e| e.0 == device && e.1 == id && e.2 >= edge)
            {
                return "ReplayError::Replayed";
            }
        } else {
            if self.forgotten.is_some_and(|f| t <= f) {
                return "ReplayError::TooOld";
            }
            if self.accounts.len() >= self.max_accounts {
                let (i, top) = (0..self.accounts.len())
                    .map(|i| (i, self.accounts[i].1.top().unwrap_or(0)))
                    .min_by_key(|&(i, top)| (top, self.accounts[i].0))
                    .unwrap();
                if top >= edge {
                    return "ReplayError::TooManySenders";
                }
                self.accounts.remove(i);
                self.forgotten = Some(self.forgotten.map_or(top, |f| f.max(top)));
            }
            let floor = self.forgotten;
            self.accounts.push((
                account.unwrap(),
                Store {
                    account_floor: floor,
                    ..Store::default()
                },
            ));
        }
        let cap = self.capacity;
        let s = match account {
            None => &mut self.anonymous,
            Some(a) => &mut self.accounts.iter_mut().find(|x| x.0 == a).unwrap().1,
        };
        while s.entries.iter().any(|e| e.2 < edge) {
            s.forget_oldest(cap);
        }
        s.entries.push((device, id, t));
        while s.entries.len() > cap {
            s.forget_oldest(cap);
        }
        "ok"
    }

    /// SPEC.md §6.4.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        fn floor(out: &mut Vec<u8>, f: Option<u64>) {
            match f {
                None => out.push(0),
                Some(v) => {
                    out.push(1);
                    out.extend_from_slice(&v.to_be_bytes());
                }
            }
        }
        fn store(out: &mut Vec<u8>, s: &Store) {
            floor(out, s.account_floor);
            let mut floors = s.floors.clone();
            floors.sort();
            out.extend_from_slice(&(floors.len() as u32).to_be_bytes());
            for (d, f) in floors {
                out.extend_from_slice(&d);
                out.extend_from_slice(&f.to_be_bytes());
            }
            let mut entries = s.entries.clone();
            entries.sort();
            out.extend_from_slice(&(entries.len() as u32).to_be_bytes());
            for (d, i, t) in entries {
                out.extend_from_slice(&d);
                out.extend_from_slice(&i);
                out.extend_from_slice(&t.to_be_bytes());
            }
        }
        let mut out = vec![0x02, 0x21];
        out.extend_from_slice(&(self.max_accounts as u32).to_be_bytes());
        out.extend_from_slice(&(self.capacity as u32).to_be_bytes());
        out.extend_from_slice(&self.window.to_be_bytes());
        out.extend_from_slice(&self.skew.to_be_bytes());
        floor(&mut out, self.forgotten);
        store(&mut out, &self.anonymous);
        let mut accounts = self.accounts.clone();
        accounts.sort_by_key(|a| a.0);
        out.extend_from_slice(&(accounts.len() as u32).to_be_bytes());
        for (a, s) in &accounts {
            out.extend_from_slice(a);
            store(&mut out, s);
        }
        out
    }
}
