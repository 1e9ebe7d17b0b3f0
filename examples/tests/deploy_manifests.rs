//! The Kubernetes manifests in `deploy/kubernetes` carry what a sharded run relies on: an Indexed
//! Job whose pod `i` runs `--shard i/N` with N its number of completions, all at once, with a run
//! id and a start time, writing its report to a volume every shard shares; and a merge that runs
//! the same program over the same directory of that volume and finds every shard's report there.
//!
//! Kubernetes would accept most of these mistakes and the run would go wrong quietly (shards
//! overwriting one report, a shard counted twice, a merge of another run), so they are checked
//! here. Each problem names the file and the field. The second test breaks the manifests one field
//! at a time and checks that the problem is found and named, so the checks cannot rot into
//! passing anything.

use std::fmt::Display;
use std::path::Path;

use saphyr::{LoadableYamlNode, YamlOwned};

/// The manifests' folder, from the repository's root.
const DIR: &str = "deploy/kubernetes";

/// The variable Kubernetes sets in each pod of an Indexed Job to the pod's index.
const INDEX: &str = "JOB_COMPLETION_INDEX";

/// A check's verdict: the first problem found, naming the file and the field.
type Checked<T> = Result<T, String>;

#[test]
fn the_manifests_carry_what_a_sharded_run_relies_on() {
    if let Err(problem) = check(&manifest_files()) {
        panic!("{problem}");
    }
}

#[test]
fn a_broken_manifest_is_named_with_its_field() {
    // (file, text in it, replacement, what the problem must say besides the file's name): a
    // table, one breakage a row.
    #[rustfmt::skip]
    let breakages = [
        ("job.yaml", "completionMode: Indexed", "completionMode: NonIndexed", "job.yaml: spec.completionMode"),
        ("job.yaml", "parallelism: 4", "parallelism: 2", "job.yaml: spec.parallelism"),
        ("job.yaml", "- $(JOB_COMPLETION_INDEX)/4", "- $(JOB_COMPLETION_INDEX)/3", "--shard"),
        ("job.yaml", "- --start-at\n", "- --no-start-at\n", "no --start-at"),
        ("job.yaml", "- --run-id\n", "- --no-run-id\n", "no --run-id"),
        ("job.yaml", "/reports/shard-$(JOB_COMPLETION_INDEX).json", "/reports/shard.json", "--json"),
        ("job.yaml", "/reports/shard-$(JOB_COMPLETION_INDEX).json", "/tmp/shard-$(JOB_COMPLETION_INDEX).json", "on no mounted volume"),
        ("job.yaml", "restartPolicy: Never", "restartPolicy: OnFailure", "job.yaml: spec.template.spec.restartPolicy"),
        ("job.yaml", "backoffLimitPerIndex: 0", "backoffLimit: 0", "job.yaml: spec.backoffLimitPerIndex"),
        ("job.yaml", "backoffLimitPerIndex: 0", "backoffLimitPerIndex: 0\n  backoffLimit: 0", "job.yaml: spec.backoffLimit:"),
        ("job.yaml", "- \"400\"", "- 400", "not a string"),
        ("job.yaml", "- $(RUN_ID)", "- $(RUN)", "$(RUN)"),
        ("job.yaml", "claimName: ttk-reports", "claimName: scratch", "claim scratch"),
        ("merge-job.yaml", "restartPolicy: Never", "restartPolicy: OnFailure", "merge-job.yaml: spec.template.spec.restartPolicy"),
        ("merge-job.yaml", "loadtest merge", "loadtest report", "containers[0]: runs"),
        ("merge-job.yaml", "/reports/shard-*.json", "/reports/shard-0.json", "shard-1.json"),
        ("merge-job.yaml", "--html /reports/merged.html", "--html /reports/shard-all.json", "--html"),
        ("merge-job.yaml", "subPathExpr: $(RUN_ID)", "subPathExpr: latest", "subPathExpr"),
        ("merge-job.yaml", "mountPath: /reports", "mountPath: /data", "on no mounted volume"),
        ("merge-job.yaml", "kind: Job", "kind: Pod", "merge-job.yaml: kind"),
        ("pvc.yaml", "- ReadWriteMany", "- ReadWriteOnce", "pvc.yaml: spec.accessModes"),
        ("fetch-pod.yaml", "claimName: ttk-reports", "claimName: scratch", "spec.volumes[0].persistentVolumeClaim.claimName"),
        ("pvc.yaml", "accessModes:", "accessModes: [", "not YAML"),
    ];
    let files = manifest_files();
    for (file, from, to, expected) in breakages {
        let broken = with_change(&files, file, from, to);
        match check(&broken) {
            Ok(()) => panic!("{file} with {from:?} changed to {to:?} passed the checks"),
            Err(problem) => assert!(
                problem.starts_with(&format!("{DIR}/{file}: ")) && problem.contains(expected),
                "{file} with {from:?} changed to {to:?}: the problem should name the file and \
                 say {expected:?}, it says: {problem}"
            ),
        }
    }
}

/// Every `*.yaml` file in [`DIR`]: its path from the repository's root and its text.
fn manifest_files() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(DIR);
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", dir.display()));
    let mut files: Vec<(String, String)> = entries
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .map(|path| {
            let name = path.file_name().expect("a file name").to_string_lossy();
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
            (format!("{DIR}/{name}"), text)
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no manifests in {}", dir.display());
    files
}

/// `files` with the first `from` in `file` replaced by `to`.
fn with_change(
    files: &[(String, String)],
    file: &str,
    from: &str,
    to: &str,
) -> Vec<(String, String)> {
    let mut changed = files.to_vec();
    let (_, text) = changed
        .iter_mut()
        .find(|(path, _)| path.ends_with(&format!("/{file}")))
        .unwrap_or_else(|| panic!("no {file} among the manifests"));
    assert!(
        text.contains(from),
        "{file} no longer says {from:?}: update this test"
    );
    *text = text.replacen(from, to, 1);
    changed
}

/// Checks the manifests `files` (path, text) hold together; the first problem found.
fn check(files: &[(String, String)]) -> Checked<()> {
    let documents = parse(files)?;
    for document in &documents {
        let root = Node::root(document);
        root.get("apiVersion")?.str()?;
        root.get("kind")?.str()?;
        root.get("metadata")?.get("name")?.str()?;
    }
    let claim = the_claim(&documents)?;
    let shards = check_shards(&the_job(&documents, "job.yaml")?, claim)?;
    check_merge(&the_job(&documents, "merge-job.yaml")?, &shards)?;
    check_claims(&documents, claim)
}

/// One YAML document of a manifest file.
struct Document {
    /// The file's path from the repository's root.
    file: String,
    /// The document.
    yaml: YamlOwned,
}

/// Every document of every file; empty documents are left out.
fn parse(files: &[(String, String)]) -> Checked<Vec<Document>> {
    let mut documents = Vec::new();
    for (file, text) in files {
        let yamls =
            YamlOwned::load_from_str(text).map_err(|error| format!("{file}: not YAML: {error}"))?;
        documents.extend(
            yamls
                .into_iter()
                .filter(|yaml| !yaml.is_null())
                .map(|yaml| Document {
                    file: file.clone(),
                    yaml,
                }),
        );
    }
    Ok(documents)
}

/// A node of a document and its path from the document's root, for the messages.
#[derive(Clone)]
struct Node<'a> {
    /// The file it is in.
    file: &'a str,
    /// Its path, like `spec.template.spec.containers[0].args`; empty at the root.
    path: String,
    /// The node.
    yaml: &'a YamlOwned,
}

impl<'a> Node<'a> {
    fn root(document: &'a Document) -> Node<'a> {
        Node {
            file: &document.file,
            path: String::new(),
            yaml: &document.yaml,
        }
    }

    /// A problem with this node.
    fn problem(&self, what: impl Display) -> String {
        let at = if self.path.is_empty() {
            "the document"
        } else {
            &self.path
        };
        format!("{}: {at}: {what}", self.file)
    }

    fn child_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// The value of `key` in this mapping, if it is there.
    fn find(&self, key: &str) -> Option<Node<'a>> {
        let yaml = self.yaml.as_mapping_get(key)?;
        Some(Node {
            file: self.file,
            path: self.child_path(key),
            yaml,
        })
    }

    /// The value of `key` in this mapping, which must be there.
    fn get(&self, key: &str) -> Checked<Node<'a>> {
        self.find(key)
            .ok_or_else(|| format!("{}: {}: missing", self.file, self.child_path(key)))
    }

    fn str(&self) -> Checked<&'a str> {
        self.yaml
            .as_str()
            .ok_or_else(|| self.problem("expected a string"))
    }

    fn int(&self) -> Checked<i64> {
        self.yaml
            .as_integer()
            .ok_or_else(|| self.problem("expected an integer"))
    }

    /// The items of this list.
    fn items(&self) -> Checked<Vec<Node<'a>>> {
        let items = self
            .yaml
            .as_sequence()
            .ok_or_else(|| self.problem("expected a list"))?;
        Ok(items
            .iter()
            .enumerate()
            .map(|(i, yaml)| Node {
                file: self.file,
                path: format!("{}[{i}]", self.path),
                yaml,
            })
            .collect())
    }

    /// The item of this list whose `name` is `name`.
    fn named(&self, name: &str) -> Checked<Node<'a>> {
        for item in self.items()? {
            if item.get("name")?.str()? == name {
                return Ok(item);
            }
        }
        Err(self.problem(format!("nothing named {name}")))
    }

    /// Checks this string is `expected`; `why` says what depends on it.
    fn expect_str(&self, expected: &str, why: &str) -> Checked<()> {
        let found = self.str()?;
        if found == expected {
            Ok(())
        } else {
            Err(self.problem(format!("is {found:?}, expected {expected:?}: {why}")))
        }
    }
}

/// The name of the claim `pvc.yaml` defines, which must be ReadWriteMany.
fn the_claim(documents: &[Document]) -> Checked<&str> {
    let file = format!("{DIR}/pvc.yaml");
    let claims: Vec<Node<'_>> = documents
        .iter()
        .filter(|document| document.file == file)
        .map(Node::root)
        .filter(|root| {
            root.find("kind")
                .is_some_and(|kind| kind.str() == Ok("PersistentVolumeClaim"))
        })
        .collect();
    let [claim] = claims.as_slice() else {
        return Err(format!(
            "{file}: holds {} PersistentVolumeClaims, expected one",
            claims.len()
        ));
    };
    let modes = claim.get("spec")?.get("accessModes")?;
    let mut any_rwx = false;
    for mode in modes.items()? {
        any_rwx |= mode.str()? == "ReadWriteMany";
    }
    if !any_rwx {
        return Err(modes.problem("no ReadWriteMany: shards on several nodes write to it at once"));
    }
    claim.get("metadata")?.get("name")?.str()
}

/// The Job that `file` (in [`DIR`]) holds, which must be its only document.
fn the_job<'a>(documents: &'a [Document], file: &str) -> Checked<Node<'a>> {
    let path = format!("{DIR}/{file}");
    let in_file: Vec<Node<'a>> = documents
        .iter()
        .filter(|document| document.file == path)
        .map(Node::root)
        .collect();
    let [job] = in_file.as_slice() else {
        return Err(format!(
            "{path}: holds {} documents, expected one Job",
            in_file.len()
        ));
    };
    job.get("kind")?
        .expect_str("Job", "the shards and the merge are Jobs")?;
    Ok(job.clone())
}

/// What the shards' Job sets that the merge must agree with.
struct Shards<'a> {
    /// The number of shards.
    count: i64,
    /// The container image.
    image: &'a str,
    /// The program the container runs.
    program: &'a str,
    /// Where a shard writes its report, with `$(JOB_COMPLETION_INDEX)` in it.
    report: &'a str,
    /// The volume it is written to.
    mount: Mount<'a>,
}

/// Checks the Indexed Job of the shards; what the merge must agree with.
fn check_shards<'a>(job: &Node<'a>, claim: &str) -> Checked<Shards<'a>> {
    let spec = job.get("spec")?;
    spec.get("completionMode")?
        .expect_str("Indexed", "each pod's index is its shard number")?;
    let count = spec.get("completions")?.int()?;
    let parallelism = spec.get("parallelism")?;
    if parallelism.int()? != count {
        return Err(parallelism.problem(format!(
            "is {}, spec.completions is {count}: every shard must run at once",
            parallelism.int()?
        )));
    }
    let per_index = spec.get("backoffLimitPerIndex")?;
    let tries = count * (per_index.int()? + 1);
    if let Some(limit) = spec.find("backoffLimit")
        && limit.int()? < tries
    {
        return Err(limit.problem(format!(
            "is {}, under the {tries} tries the per-index limit allows: one shard's failures \
             would fail the Job and stop the others",
            limit.int()?
        )));
    }
    let pod = spec.get("template")?.get("spec")?;
    pod.get("restartPolicy")?
        .expect_str("Never", "a shard that failed must not start over in place")?;
    let container = only_container(&pod)?;

    let shard = container.flag("--shard")?;
    let expected = format!("$({INDEX})/{count}");
    if shard != expected {
        return Err(container.node.problem(format!(
            "--shard is {shard:?}, expected {expected:?} (spec.completions is {count})"
        )));
    }
    container.flag("--run-id")?;
    container.flag("--start-at")?;
    let report = container.flag("--json")?;
    if !report.contains(&format!("$({INDEX})")) {
        return Err(container.node.problem(format!(
            "--json {report} has no $({INDEX}): every shard would write the same file"
        )));
    }
    let mount = mount_holding(&pod, &container, "--json", report)?;
    if mount.claim != claim {
        return Err(container.node.problem(format!(
            "--json writes to claim {}, not to the claim {claim} of pvc.yaml",
            mount.claim
        )));
    }
    container.check_variables(&mount, &[INDEX])?;
    Ok(Shards {
        count,
        image: container.node.get("image")?.str()?,
        program: container.argv.first().copied().unwrap_or_default(),
        report,
        mount,
    })
}

/// Checks the merge Job reads every report the shards write, with the shards' program.
fn check_merge(job: &Node<'_>, shards: &Shards<'_>) -> Checked<()> {
    let pod = job.get("spec")?.get("template")?.get("spec")?;
    pod.get("restartPolicy")?
        .expect_str("Never", "a merge is not run again in place")?;
    let container = only_container(&pod)?;
    let image = container.node.get("image")?;
    image.expect_str(
        shards.image,
        "the merge must know the shards' report schema",
    )?;

    let argv = container.command_line()?;
    if argv.first() != Some(&shards.program) || argv.get(1) != Some(&"merge") {
        return Err(container.node.problem(format!(
            "runs {argv:?}, expected `{} merge ...` (the shards' program)",
            shards.program
        )));
    }
    let mut inputs = Vec::new();
    let mut outputs = Vec::new();
    let mut rest = argv[2..].iter();
    while let Some(arg) = rest.next() {
        if arg.starts_with("--") {
            let value = rest
                .next()
                .ok_or_else(|| container.node.problem(format!("{arg} has no value")))?;
            outputs.push((*arg, *value));
        } else {
            inputs.push(*arg);
        }
    }
    for flag in ["--json", "--html"] {
        if !outputs.iter().any(|(name, _)| *name == flag) {
            return Err(container.node.problem(format!("the merge has no {flag}")));
        }
    }

    for i in 0..shards.count {
        let file = shards
            .report
            .replace(&format!("$({INDEX})"), &i.to_string());
        if !inputs.iter().any(|input| glob_matches(input, &file)) {
            return Err(container.node.problem(format!(
                "the merge reads {inputs:?}, not shard {i}'s report {file}"
            )));
        }
    }
    for (flag, output) in outputs {
        if inputs.iter().any(|input| glob_matches(input, output)) {
            return Err(container.node.problem(format!(
                "{flag} {output} is among the merge's inputs: a second merge would read it"
            )));
        }
        let mount = mount_holding(&pod, &container, flag, output)?;
        if mount != shards.mount {
            return Err(container.node.problem(format!(
                "{flag} {output} is on {mount}, the shards write to {}: \
                 the merge must read the run's own directory",
                shards.mount
            )));
        }
    }
    container.check_variables(&shards.mount, &[])
}

/// Checks every pod that mounts a claim (the fetch pod too) mounts `claim`.
fn check_claims(documents: &[Document], claim: &str) -> Checked<()> {
    for document in documents {
        let root = Node::root(document);
        let pod = match root.get("kind")?.str()? {
            "Pod" => root.get("spec")?,
            "Job" => root.get("spec")?.get("template")?.get("spec")?,
            _ => continue,
        };
        let Some(volumes) = pod.find("volumes") else {
            continue;
        };
        for volume in volumes.items()? {
            if let Some(source) = volume.find("persistentVolumeClaim") {
                let name = source.get("claimName")?;
                name.expect_str(claim, "the claim pvc.yaml defines, where the reports are")?;
            }
        }
    }
    Ok(())
}

/// The one container of a pod, and what the checks read of it.
struct Container<'a> {
    node: Node<'a>,
    /// `command` then `args`, as Kubernetes hands them to the process (before `$(VAR)`s).
    argv: Vec<&'a str>,
    /// The names of the variables it sets.
    env: Vec<&'a str>,
}

fn only_container<'a>(pod: &Node<'a>) -> Checked<Container<'a>> {
    let containers = pod.get("containers")?;
    let list = containers.items()?;
    let [node] = list.as_slice() else {
        return Err(containers.problem(format!("{} containers, expected one", list.len())));
    };
    let mut argv = Vec::new();
    for key in ["command", "args"] {
        let Some(list) = node.find(key) else { continue };
        for arg in list.items()? {
            argv.push(arg.str().map_err(|_| {
                arg.problem("not a string: Kubernetes takes only strings here, quote it")
            })?);
        }
    }
    let mut env = Vec::new();
    if let Some(list) = node.find("env") {
        for variable in list.items()? {
            env.push(variable.get("name")?.str()?);
        }
    }
    Ok(Container {
        node: node.clone(),
        argv,
        env,
    })
}

impl<'a> Container<'a> {
    /// The value of `--name VALUE` or `--name=VALUE`, which must be there.
    fn flag(&self, name: &str) -> Checked<&'a str> {
        let value = self.argv.iter().enumerate().find_map(|(i, arg)| {
            if *arg == name {
                self.argv.get(i + 1).copied()
            } else {
                arg.strip_prefix(name)
                    .and_then(|rest| rest.strip_prefix('='))
            }
        });
        value
            .filter(|value| !value.is_empty())
            .ok_or_else(|| self.node.problem(format!("no {name} in its command line")))
    }

    /// The program's command line: `argv`, or the words of `sh -c 'exec PROGRAM ARGS'`.
    fn command_line(&self) -> Checked<Vec<&'a str>> {
        let [shell, "-c", script] = self.argv.as_slice() else {
            return Ok(self.argv.clone());
        };
        if !shell.ends_with("sh") {
            return Ok(self.argv.clone());
        }
        if script.contains(['\'', '"', '\\', ';', '&', '|', '$', '`']) {
            return Err(self
                .node
                .problem("a shell script this test cannot read: keep it to `exec PROGRAM ARGS`"));
        }
        let words = script.split_whitespace();
        Ok(words.skip_while(|word| *word == "exec").collect())
    }

    /// Checks every `$(VAR)` in the command line and the mount is set by the container or is
    /// one of `given` (set by Kubernetes): Kubernetes leaves an unknown one as it is.
    fn check_variables(&self, mount: &Mount<'_>, given: &[&str]) -> Checked<()> {
        let mount_expr = mount.sub_path.filter(|(key, _)| *key == "subPathExpr");
        let texts = self
            .argv
            .iter()
            .copied()
            .chain(mount_expr.map(|(_, value)| value));
        for text in texts {
            for name in variables(text) {
                if !self.env.contains(&name) && !given.contains(&name) {
                    return Err(self.node.problem(format!(
                        "$({name}) in {text:?} is not in its env: Kubernetes would pass it as is"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// A mounted volume, as far as where a file lands on it goes.
#[derive(Debug, PartialEq)]
struct Mount<'a> {
    /// Where it is mounted.
    path: &'a str,
    /// `subPath` or `subPathExpr`, and its value, if either is set.
    sub_path: Option<(&'a str, &'a str)>,
    /// The claim behind it.
    claim: &'a str,
}

impl Display for Mount<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "claim {} at {}", self.claim, self.path)?;
        match self.sub_path {
            Some((key, value)) => write!(f, " ({key}: {value})"),
            None => Ok(()),
        }
    }
}

/// The claim-backed mount of `container` that holds `file`, given to it as `flag`.
fn mount_holding<'a>(
    pod: &Node<'a>,
    container: &Container<'a>,
    flag: &str,
    file: &str,
) -> Checked<Mount<'a>> {
    let lost = || {
        container.node.problem(format!(
            "{flag} {file} is on no mounted volume: it would be lost with the pod"
        ))
    };
    let mounts = container.node.find("volumeMounts").ok_or_else(lost)?;
    let mut holding = None;
    for mount in mounts.items()? {
        let path = mount.get("mountPath")?.str()?;
        if file.starts_with(&format!("{}/", path.trim_end_matches('/'))) {
            holding = Some((mount, path));
        }
    }
    let (mount, path) = holding.ok_or_else(lost)?;
    let name = mount.get("name")?.str()?;
    let volume = pod.get("volumes")?.named(name)?;
    let claim = volume
        .get("persistentVolumeClaim")?
        .get("claimName")?
        .str()?;
    let mut sub_path = None;
    for key in ["subPath", "subPathExpr"] {
        if let Some(value) = mount.find(key) {
            sub_path = Some((key, value.str()?));
        }
    }
    Ok(Mount {
        path,
        sub_path,
        claim,
    })
}

/// The names of the `$(NAME)` references in `text`.
fn variables(text: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("$(") {
        let after = &rest[start + 2..];
        let Some(end) = after.find(')') else { break };
        names.push(&after[..end]);
        rest = &after[end + 1..];
    }
    names
}

/// Whether the shell pattern `pattern` (with `*` only) matches the path `text`.
fn glob_matches(pattern: &str, text: &str) -> bool {
    let Some((head, rest)) = pattern.split_once('*') else {
        return pattern == text;
    };
    let Some(tail) = text.strip_prefix(head) else {
        return false;
    };
    // `*` matches within one path component.
    let within = tail.find('/').unwrap_or(tail.len());
    (0..=within)
        .filter(|&end| tail.is_char_boundary(end))
        .any(|end| glob_matches(rest, &tail[end..]))
}
