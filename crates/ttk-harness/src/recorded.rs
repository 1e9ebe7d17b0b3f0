//! What the report records as a run's parameters, for a test whose own command line is not
//! the harness's (the `ttk` command's `http`, `tcp` and `udp`).

use ttk_report::Parameters;

use super::LoadTest;

impl<A> LoadTest<A> {
    /// Changes what the report records as the run's parameters (`run.parameters`): `edit` gets
    /// those the standard flags give, as they are now, and what it leaves is recorded. For a
    /// program that builds the run from a command line of its own: the report then holds the
    /// command line that was typed (not the harness's), and the load as it was given. The run
    /// itself is not changed. Call it last: later changes to the flags are not recorded.
    ///
    /// # Examples
    /// ```
    /// use ttk::Cx;
    /// use ttk::harness::{LoadTest, Session};
    ///
    /// #[ttk::bot]
    /// fn idle(_cx: Cx, _session: Session) {}
    ///
    /// let typed = ["pinger", "10.0.0.5:7", "-c", "2", "-d", "60s"];
    /// let mut test = LoadTest::try_from_args("pinger", ["pinger", "--bots", "2", "--quiet"]).unwrap();
    /// test.record_parameters(|parameters| {
    ///     parameters.command_line = typed.map(String::from).to_vec();
    ///     parameters.target = Some("10.0.0.5:7".to_owned());
    ///     parameters.duration = Some("60s".to_owned());
    /// });
    /// let recorded = test.run(idle).report.run.parameters;
    /// assert_eq!(recorded.command_line, typed);
    /// assert_eq!(recorded.duration.as_deref(), Some("60s"));
    /// assert_eq!(recorded.bots, Some(2)); // left as the flags gave it
    /// ```
    pub fn record_parameters(&mut self, edit: impl FnOnce(&mut Parameters)) -> &mut Self {
        let mut parameters = self.parameters_of_the_flags();
        edit(&mut parameters);
        self.recorded = Some(parameters);
        self
    }
}

impl<A> LoadTest<A> {
    /// The command line the run was started with, program first: what `--processes` starts
    /// each of its children with (with its own `--shard`, `--run-id`, `--start-at` and
    /// `--json`), and what the report records unless
    /// [`record_parameters`](LoadTest::record_parameters) says otherwise.
    ///
    /// # Examples
    /// ```
    /// use ttk::harness::LoadTest;
    ///
    /// let test = LoadTest::try_from_args("shop", ["shop", "--bots", "5"]).unwrap();
    /// assert_eq!(test.command_line(), ["shop", "--bots", "5"]);
    /// ```
    pub fn command_line(&self) -> &[String] {
        &self.command_line
    }

    /// Refuses changes to the load from the live dashboard (`POST /control`), saying `why`: for
    /// a test whose bots cannot come and go (the `ttk` command's connections on one `--rate`
    /// schedule, each owning its turns in it).
    ///
    /// # Examples
    /// ```
    /// use ttk::harness::LoadTest;
    ///
    /// let mut test = LoadTest::try_from_args("paced", ["paced", "--dashboard"]).unwrap();
    /// test.refuse_control("the connections share one schedule: change the rate instead");
    /// ```
    pub fn refuse_control(&mut self, why: &str) -> &mut Self {
        self.control_refused = Some(why.to_owned());
        self
    }

    /// Refuses bot counts over `most` from the live dashboard (`POST /control`), saying
    /// `why`: a test whose bots each hold a file (a socket) can hold only so many under the
    /// open-file limit, and a count past it would fail its connects part way through (the
    /// `ttk` command checks `-c` against the limit before the run, and this against it during).
    ///
    /// # Examples
    /// ```
    /// use ttk::harness::LoadTest;
    ///
    /// let mut test = LoadTest::try_from_args("held", ["held", "--dashboard"]).unwrap();
    /// test.limit_control_bots(19_000, "each bot holds a socket, and ulimit -n is 20,000");
    /// ```
    pub fn limit_control_bots(&mut self, most: usize, why: &str) -> &mut Self {
        self.most_control_bots = Some((most, why.to_owned()));
        self
    }

    /// Sets [`command_line`](LoadTest::command_line): for a program that builds the run from a
    /// command line of its own (as the `ttk` command does from `ttk http URL -c 100 …`), the
    /// one typed, so that the children of `--processes` are started as it was, and read their
    /// flags as it did. The program must be the one running (children are started as
    /// [`std::env::current_exe`]).
    ///
    /// # Examples
    /// ```
    /// use ttk::harness::LoadTest;
    ///
    /// let harness = ["pinger", "--bots", "2", "--processes", "2"];
    /// let mut test = LoadTest::try_from_args("pinger", harness).unwrap();
    /// test.set_command_line(["pinger", "10.0.0.5:7", "-c", "2", "--processes", "2"]);
    /// assert_eq!(test.command_line()[1], "10.0.0.5:7");
    /// ```
    pub fn set_command_line<I, T>(&mut self, typed: I) -> &mut Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.command_line = typed.into_iter().map(Into::into).collect();
        self
    }
}
