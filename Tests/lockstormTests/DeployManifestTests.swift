import Foundation
import Testing
import TestSupport
import Yams

/// deploy/k8s/'s manifests read as Kubernetes objects (schema level: no
/// cluster is reachable here), and the Dockerfile's build step read against
/// the README's own build command.
@Suite("the Kubernetes manifests and the container image definition")
struct DeployManifestTests {
    static let root = TestServer.repositoryRoot
    static let deploy = root.appendingPathComponent("deploy/k8s")

    // MARK: - reading the files

    /// Every document of every YAML file in deploy/k8s, with the file it came from.
    static func documents() throws -> [(file: String, object: [String: Any])] {
        let files = try FileManager.default.contentsOfDirectory(atPath: deploy.path)
            .filter { $0.hasSuffix(".yaml") }
            .sorted()
        var result: [(file: String, object: [String: Any])] = []
        for file in files {
            let text = try String(contentsOf: deploy.appendingPathComponent(file), encoding: .utf8)
            for document in try Yams.load_all(yaml: text) {
                let object = try #require(document as? [String: Any], "\(file): a document that is not a mapping")
                result.append((file, object))
            }
        }
        return result
    }

    /// The one object of `kind` named `name`.
    static func object(_ kind: String, _ name: String) throws -> [String: Any] {
        let matches = try documents().filter { $0.object["kind"] as? String == kind && metadataName($0.object) == name }
        #expect(matches.count == 1, "\(kind)/\(name): \(matches.count) definitions in deploy/k8s")
        return try #require(matches.first?.object, "no \(kind)/\(name) in deploy/k8s")
    }

    static func metadataName(_ object: [String: Any]) -> String? {
        (object["metadata"] as? [String: Any])?["name"] as? String
    }

    /// The value at a path of mapping keys, e.g. `["spec", "template", "spec"]`.
    static func value(_ object: [String: Any], _ path: [String]) -> Any? {
        var current: Any? = object
        for key in path { current = (current as? [String: Any])?[key] }
        return current
    }

    /// A Job's pod spec and its only container.
    static func pod(_ job: [String: Any]) throws -> (spec: [String: Any], container: [String: Any]) {
        let spec = try #require(value(job, ["spec", "template", "spec"]) as? [String: Any], "a Job without spec.template.spec")
        let containers = try #require(spec["containers"] as? [[String: Any]], "a pod spec without containers")
        #expect(containers.count == 1)
        return (spec, try #require(containers.first))
    }

    /// A container's args, each of which must be a string (Kubernetes refuses a number there).
    static func arguments(_ container: [String: Any]) throws -> [String] {
        let raw = try #require(container["args"] as? [Any], "a container without args")
        return try raw.map { try #require($0 as? String, "argument \($0) is not a string: quote it") }
    }

    /// The word after `flag` in `arguments`.
    static func argument(after flag: String, in arguments: [String]) throws -> String {
        let index = try #require(arguments.firstIndex(of: flag), "no \(flag) in \(arguments)")
        return try #require(arguments.indices.contains(index + 1) ? arguments[index + 1] : nil, "\(flag) without a value")
    }

    /// A container's environment variable by name.
    static func environment(_ container: [String: Any], _ name: String) throws -> [String: Any] {
        let variables = container["env"] as? [[String: Any]] ?? []
        return try #require(variables.first { $0["name"] as? String == name }, "no \(name) in the container's env")
    }

    /// The names `$(NAME)` refers to in `text` (Kubernetes' expansion in args).
    static func references(in text: String) -> [String] {
        text.matches(of: /\$\(([A-Za-z_][A-Za-z0-9_]*)\)/).map { String($0.output.1) }
    }

    /// The mount path of the volume `name` in `container`.
    static func mountPath(_ container: [String: Any], volume name: String) throws -> String {
        let mounts = try #require(container["volumeMounts"] as? [[String: Any]], "a container without volume mounts")
        let mount = try #require(mounts.first { $0["name"] as? String == name }, "volume \(name) is not mounted")
        return try #require(mount["mountPath"] as? String)
    }

    /// The pod volume whose `source` (configMap, persistentVolumeClaim, …) names `sourceName`.
    static func volume(_ spec: [String: Any], source: String, key: String, named sourceName: String) throws -> String {
        let volumes = try #require(spec["volumes"] as? [[String: Any]], "a pod spec without volumes")
        let match = volumes.first { (($0[source] as? [String: Any])?[key] as? String) == sourceName }
        return try #require(match?["name"] as? String, "no volume from \(source) \(sourceName)")
    }

    /// kustomization.yaml (a Kustomization has no metadata.name).
    static func kustomization() throws -> [String: Any] {
        let matches = try documents().filter { $0.object["kind"] as? String == "Kustomization" }
        #expect(matches.map(\.file) == ["kustomization.yaml"])
        return try #require(matches.first?.object, "no kustomization.yaml in deploy/k8s")
    }

    /// The keys and values of kustomization.yaml's generated ConfigMap `name` (from its env files).
    static func generatedConfigMap(_ name: String) throws -> [String: String] {
        let kustomization = try kustomization()
        let generators = try #require(kustomization["configMapGenerator"] as? [[String: Any]])
        let generator = try #require(generators.first { $0["name"] as? String == name }, "kustomization.yaml generates no ConfigMap \(name)")
        var values: [String: String] = [:]
        for file in generator["envs"] as? [String] ?? [] {
            let text = try String(contentsOf: deploy.appendingPathComponent(file), encoding: .utf8)
            for line in text.split(separator: "\n") where !line.hasPrefix("#") && line.contains("=") {
                let parts = line.split(separator: "=", maxSplits: 1)
                values[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
            }
        }
        return values
    }

    // MARK: - the manifests

    @Test("every document in deploy/k8s is a Kubernetes object: apiVersion, kind, metadata.name")
    func everyDocumentIsAnObject() throws {
        let documents = try Self.documents()
        #expect(documents.count >= 7)
        for (file, object) in documents where object["kind"] as? String != "Kustomization" {
            let apiVersion = try #require(object["apiVersion"] as? String, "\(file): no apiVersion")
            #expect(apiVersion.wholeMatch(of: /(v1|[a-z0-9.]+\/v[0-9]+([a-z]+[0-9]+)?)/) != nil, "\(file): apiVersion \(apiVersion)")
            let kind = try #require(object["kind"] as? String, "\(file): no kind")
            #expect(kind.first?.isUppercase == true, "\(file): kind \(kind)")
            let name = try #require(Self.metadataName(object), "\(file): no metadata.name")
            // A DNS-1123 subdomain, as Kubernetes requires of these kinds' names.
            #expect(name.wholeMatch(of: /[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/) != nil, "\(file): name \(name)")
        }
        let kinds = Set(documents.compactMap { $0.object["kind"] as? String })
        #expect(kinds.isSuperset(of: ["Job", "ConfigMap", "Secret", "PersistentVolumeClaim", "Kustomization"]))
    }

    @Test("kustomization.yaml lists files that exist, among them both Jobs, and generates the run's parameters")
    func kustomizationResources() throws {
        let kustomization = try Self.kustomization()
        let resources = try #require(kustomization["resources"] as? [String])
        for resource in resources {
            #expect(FileManager.default.fileExists(atPath: Self.deploy.appendingPathComponent(resource).path), "\(resource) is missing")
        }
        #expect(resources.contains("shards-job.yaml") && resources.contains("merge-job.yaml"))
        // The Secret is the user's, never applied from the repository's placeholder.
        #expect(!resources.contains("secret.example.yaml"))
        let run = try Self.generatedConfigMap("lockstorm-run")
        #expect(Set(run.keys) == ["START_AT", "RUN_ID", "SEED"])
        // --start-at's two forms: +DURATION after shard 0's setup, or an RFC 3339 time.
        let start = try #require(run["START_AT"])
        #expect(start.wholeMatch(of: /\+[0-9]+(ms|s|min|h)?/) != nil || ISO8601DateFormatter().date(from: start) != nil, "START_AT \(start) is neither +DURATION nor RFC 3339")
        #expect(UInt64(try #require(run["SEED"])) != nil)
    }

    @Test("the shards' Job is Indexed, one pod per shard, its index wired into --shard K/N")
    func shardsJobIsIndexed() throws {
        let job = try Self.object("Job", "lockstorm-shards")
        #expect(job["apiVersion"] as? String == "batch/v1")
        #expect(Self.value(job, ["spec", "completionMode"]) as? String == "Indexed")
        let completions = try #require(Self.value(job, ["spec", "completions"]) as? Int)
        #expect(completions >= 2)
        #expect(Self.value(job, ["spec", "parallelism"]) as? Int == completions, "parallelism must equal completions: every shard runs at once")
        let (spec, container) = try Self.pod(job)
        #expect(["Never", "OnFailure"].contains(spec["restartPolicy"] as? String ?? ""))

        let arguments = try Self.arguments(container)
        #expect(arguments.first == "run")
        #expect(try Self.argument(after: "--shard", in: arguments) == "$(JOB_COMPLETION_INDEX)/\(completions)")
        let index = try Self.environment(container, "JOB_COMPLETION_INDEX")
        #expect(Self.value(index, ["valueFrom", "fieldRef", "fieldPath"]) as? String == "metadata.annotations['batch.kubernetes.io/job-completion-index']")

        // One start, one seed and one run id for every shard, from the run's ConfigMap.
        #expect(try Self.argument(after: "--start-at", in: arguments) == "$(START_AT)")
        #expect(try Self.argument(after: "--seed", in: arguments) == "$(SEED)")
        #expect(try Self.argument(after: "--run-id", in: arguments) == "$(RUN_ID)")
        for name in ["START_AT", "SEED", "RUN_ID"] {
            let variable = try Self.environment(container, name)
            #expect(Self.value(variable, ["valueFrom", "configMapKeyRef", "name"]) as? String == "lockstorm-run")
            #expect(Self.value(variable, ["valueFrom", "configMapKeyRef", "key"]) as? String == name)
        }
    }

    @Test("in both Jobs every $(NAME) in the args is an env variable of the container (Kubernetes leaves others as text)")
    func everyReferenceIsDefined() throws {
        for name in ["lockstorm-shards", "lockstorm-merge"] {
            let (_, container) = try Self.pod(try Self.object("Job", name))
            let defined = Set((container["env"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String })
            let used = Set(try Self.arguments(container).flatMap(Self.references))
            #expect(!used.isEmpty)
            #expect(used.isSubset(of: defined), "\(name): \(used.subtracting(defined).sorted()) used in args, not defined in env")
        }
    }

    @Test("the shards' DSN comes from the Secret as DATABASE_URL, never on the command line; the merge has none")
    func dsnFromSecret() throws {
        let secret = try Self.object("Secret", "lockstorm-db")
        let placeholder = try #require(Self.value(secret, ["stringData", "dsn"]) as? String)
        #expect(placeholder.contains("CHANGE-ME"), "the example Secret holds a placeholder, not a password")
        let (_, shard) = try Self.pod(try Self.object("Job", "lockstorm-shards"))
        let dsn = try Self.environment(shard, "DATABASE_URL")
        #expect(Self.value(dsn, ["valueFrom", "secretKeyRef", "name"]) as? String == "lockstorm-db")
        #expect(Self.value(dsn, ["valueFrom", "secretKeyRef", "key"]) as? String == "dsn")
        #expect(dsn["value"] == nil)
        // The merge reads files only: it is given no access to the database.
        let (_, merge) = try Self.pod(try Self.object("Job", "lockstorm-merge"))
        #expect(!(merge["env"] as? [[String: Any]] ?? []).contains { Self.value($0, ["valueFrom", "secretKeyRef"]) != nil })
        for container in [shard, merge] {
            let arguments = try Self.arguments(container)
            #expect(!arguments.contains("--dsn") && !arguments.contains { $0.contains("postgres") }, "a DSN in the args \(arguments)")
        }
    }

    @Test("the shards read the workload from the ConfigMap: the shipped transfers workload, at the path the run names")
    func workloadFromConfigMap() throws {
        let (spec, container) = try Self.pod(try Self.object("Job", "lockstorm-shards"))
        let volume = try Self.volume(spec, source: "configMap", key: "name", named: "lockstorm-workload")
        let directory = try Self.mountPath(container, volume: volume)
        let configMap = try Self.object("ConfigMap", "lockstorm-workload")
        let data = try #require(configMap["data"] as? [String: String])
        #expect(data.count == 1)
        let (key, workload) = try #require(data.first)
        #expect(try Self.arguments(container).dropFirst().first == directory + "/" + key, "run's WORKLOAD is not the mounted file")
        let shipped = try TestServer.workloadText("transfers.yaml")
        #expect(workload == shipped, """
            deploy/k8s/workload-configmap.yaml differs from workloads/transfers.yaml: write it anew with \
            kubectl create configmap lockstorm-workload --from-file=workload.yaml=workloads/transfers.yaml --dry-run=client -o yaml
            """)
    }

    @Test("the shards write per-shard folders on one ReadWriteMany volume")
    func resultsOnSharedVolume() throws {
        let (spec, container) = try Self.pod(try Self.object("Job", "lockstorm-shards"))
        let volume = try Self.volume(spec, source: "persistentVolumeClaim", key: "claimName", named: "lockstorm-results")
        let mount = try Self.mountPath(container, volume: volume)
        let out = try Self.argument(after: "--out", in: try Self.arguments(container))
        #expect(out.hasPrefix(mount + "/"))
        #expect(Self.references(in: out).contains("JOB_COMPLETION_INDEX"), "--out \(out) is the same folder for every shard")
        let claim = try Self.object("PersistentVolumeClaim", "lockstorm-results")
        #expect((Self.value(claim, ["spec", "accessModes"]) as? [String])?.contains("ReadWriteMany") == true)
    }

    @Test("the merge Job lists exactly the shards' folders, one per completion, and waits suspended")
    func mergeJobListsShards() throws {
        let shards = try Self.object("Job", "lockstorm-shards")
        let completions = try #require(Self.value(shards, ["spec", "completions"]) as? Int)
        let shardOut = try Self.argument(after: "--out", in: try Self.arguments(try Self.pod(shards).container))
        let expected = (0..<completions).map { shardOut.replacingOccurrences(of: "$(JOB_COMPLETION_INDEX)", with: String($0)) }

        let merge = try Self.object("Job", "lockstorm-merge")
        #expect(Self.value(merge, ["spec", "suspend"]) as? Bool == true, "the merge must not start before the shards are done")
        let (spec, container) = try Self.pod(merge)
        #expect(["Never", "OnFailure"].contains(spec["restartPolicy"] as? String ?? ""))
        let arguments = try Self.arguments(container)
        #expect(arguments.first == "merge")
        let outIndex = try #require(arguments.firstIndex(of: "--out"))
        #expect(Array(arguments[1..<outIndex]) == expected)
        let volume = try Self.volume(spec, source: "persistentVolumeClaim", key: "claimName", named: "lockstorm-results")
        #expect(try Self.argument(after: "--out", in: arguments).hasPrefix(try Self.mountPath(container, volume: volume) + "/"))
        // The same run folder as the shards: RUN_ID from the same ConfigMap.
        let runID = try Self.environment(container, "RUN_ID")
        #expect(Self.value(runID, ["valueFrom", "configMapKeyRef", "name"]) as? String == "lockstorm-run")
    }

    @Test("pods run as a non-root user, the image's")
    func podsRunAsNonRoot() throws {
        let dockerfile = try Dockerfile.read(Self.root.appendingPathComponent("Dockerfile"))
        let user = try #require(dockerfile.stages.last?.instructions.last { $0.keyword == "USER" }?.arguments)
        for name in ["lockstorm-shards", "lockstorm-merge"] {
            let (spec, _) = try Self.pod(try Self.object("Job", name))
            #expect(Self.value(spec, ["securityContext", "runAsNonRoot"]) as? Bool == true)
            let uid = try #require(Self.value(spec, ["securityContext", "runAsUser"]) as? Int)
            #expect(uid != 0)
            #expect(user == "\(uid)" || user.hasPrefix("\(uid):"), "\(name) runs as \(uid), the image as \(user)")
        }
    }

    // MARK: - the image

    /// The README's release build: "The binary is `PATH` after `COMMAND`".
    static func readmeBuild() throws -> (binary: String, command: String) {
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let match = try #require(readme.firstMatch(of: /The binary is `([^`]+)` after `([^`]+)`/), "README.md no longer says how the release binary is built")
        return (String(match.output.1), String(match.output.2))
    }

    @Test("the Dockerfile builds with the README's own command, a release build, and takes the binary from the README's path")
    func dockerfileBuildsAsReadmeSays() throws {
        let (binary, command) = try Self.readmeBuild()
        let dockerfile = try Dockerfile.read(Self.root.appendingPathComponent("Dockerfile"))
        #expect(dockerfile.stages.count == 2, "a build stage and a runtime stage")
        let build = try #require(dockerfile.stages.first)
        let builds = build.instructions.filter { $0.keyword == "RUN" && !$0.buildCommands.isEmpty }
        #expect(builds.map(\.arguments) == [command], "the Dockerfile's build steps are not the README's `\(command)`")
        #expect(build.instructions.contains { $0.keyword == "RUN" && $0.arguments.contains(binary) }, "the Dockerfile does not take \(binary)")

        // The README's command is `make TARGET`; the Makefile's TARGET is a release build.
        let target = try #require(command.wholeMatch(of: /make ([a-z-]+)/)?.output.1)
        let makefile = try String(contentsOf: Self.root.appendingPathComponent("Makefile"), encoding: .utf8)
        let recipe = try #require(Makefile.recipe(of: String(target), in: makefile), "the Makefile has no target \(target)")
        #expect(recipe.contains("swift build -c release"))

        // A Swift image at least as new as the package's tools version.
        let image = try #require(build.from.wholeMatch(of: /swift:(\d+)\.(\d+)-bookworm/), "build stage on \(build.from)")
        let manifest = try String(contentsOf: Self.root.appendingPathComponent("Package.swift"), encoding: .utf8)
        let tools = try #require(manifest.firstMatch(of: /swift-tools-version: ?(\d+)\.(\d+)/))
        #expect((Int(image.output.1)!, Int(image.output.2)!) >= (Int(tools.output.1)!, Int(tools.output.2)!))
    }

    @Test("the runtime stage is Debian slim with libpq5, not root, and runs lockstorm")
    func runtimeStage() throws {
        let dockerfile = try Dockerfile.read(Self.root.appendingPathComponent("Dockerfile"))
        let runtime = try #require(dockerfile.stages.last)
        #expect(runtime.from == "debian:bookworm-slim")
        #expect(runtime.instructions.contains { $0.keyword == "RUN" && $0.arguments.contains("apt-get install") && $0.arguments.contains("libpq5") })
        let user = try #require(runtime.instructions.last { $0.keyword == "USER" }?.arguments)
        #expect(!["root", "0", "0:0"].contains(user))
        #expect(runtime.instructions.last { $0.keyword == "ENTRYPOINT" }?.arguments == #"["lockstorm"]"#)
    }

    @Test("the Dockerfile reader joins continued lines and drops comments and parser directives")
    func dockerfileReader() throws {
        let text = """
            # syntax=docker/dockerfile:1
            FROM swift:6.3-bookworm AS build
            # a comment
            RUN apt-get update \\
                # a comment inside a continued line
                && make build
            FROM debian:bookworm-slim
            ENTRYPOINT ["lockstorm"]
            """
        let dockerfile = Dockerfile(text)
        #expect(dockerfile.stages.map(\.from) == ["swift:6.3-bookworm", "debian:bookworm-slim"])
        #expect(dockerfile.stages[0].instructions.map(\.keyword) == ["FROM", "RUN"])
        #expect(dockerfile.stages[0].instructions[1].arguments == "apt-get update && make build")
        #expect(dockerfile.stages[0].instructions[1].buildCommands == ["make build"])
        // A package named make is installed, not run.
        #expect(Dockerfile.Instruction(keyword: "RUN", arguments: "apt-get install -y make && rm -rf /x").buildCommands.isEmpty)
        #expect(Makefile.recipe(of: "build", in: "deps:\n\tx\n\nbuild: deps\n\tswift build -c release\n\ntest:\n\ty\n") == "swift build -c release")
    }
}

/// A Dockerfile as stages of instructions (keyword and its argument text),
/// continuation lines joined and comments dropped.
struct Dockerfile {
    struct Instruction {
        let keyword: String
        let arguments: String

        /// The commands of a RUN (split at `&&`, `||` and `;`) that build:
        /// `make …` or `swift build …`.
        var buildCommands: [String] {
            arguments.split(separator: /&&|\|\||;/)
                .map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { $0 == "make" || $0.hasPrefix("make ") || $0.hasPrefix("swift build") }
        }
    }

    struct Stage {
        /// The image of its FROM line, without `AS name`.
        let from: String
        var instructions: [Instruction]
    }

    let stages: [Stage]

    static func read(_ url: URL) throws -> Dockerfile {
        Dockerfile(try String(contentsOf: url, encoding: .utf8))
    }

    init(_ text: String) {
        var stages: [Stage] = []
        var logical = ""
        func finish() {
            let line = logical.trimmingCharacters(in: .whitespaces)
            logical = ""
            guard !line.isEmpty else { return }
            let keyword = String(line.prefix { !$0.isWhitespace }).uppercased()
            let arguments = line.dropFirst(keyword.count).trimmingCharacters(in: .whitespaces)
            if keyword == "FROM" {
                stages.append(Stage(from: String(arguments.prefix { !$0.isWhitespace }), instructions: []))
            }
            if !stages.isEmpty { stages[stages.count - 1].instructions.append(Instruction(keyword: keyword, arguments: arguments)) }
        }
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("#") { continue }
            if line.hasSuffix("\\") {
                logical += line.dropLast().trimmingCharacters(in: .whitespaces) + " "
            } else {
                logical += line
                finish()
            }
        }
        finish()
        self.stages = stages
    }
}

/// Reads a Makefile target's recipe.
enum Makefile {
    /// The recipe lines of `target`, joined by newlines.
    static func recipe(of target: String, in text: String) -> String? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = lines.firstIndex(where: { $0.hasPrefix(target + ":") }) else { return nil }
        let recipe = lines[(start + 1)...].prefix { $0.hasPrefix("\t") }.map { $0.dropFirst() }
        return recipe.joined(separator: "\n")
    }
}
