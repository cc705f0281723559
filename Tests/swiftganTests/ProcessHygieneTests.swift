import Foundation
import Testing
import TestSupport

/// No test can hang the suite: every process a test starts is bounded, and the suite's watchdog
/// names what hangs.
@Suite struct ProcessHygieneTests {
    static let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().path
    static let root = URL(fileURLWithPath: tests).deletingLastPathComponent().path

    /// Test code starts processes only through TestSupport's `TestProcess` (which bounds each), and
    /// the Python it runs gives every `subprocess` call a timeout.
    @Test func everyProcessATestStartsHasATimeout() throws {
        var offences: [String] = []
        let files = FileManager.default.enumerator(atPath: Self.tests)!.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") }
        for file in files where file != "TestSupport/Processes.swift" {
            let lines = try String(contentsOfFile: Self.tests + "/" + file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            for (number, line) in lines.enumerated() {
                let text = String(line)
                if text.contains("unbounded on purpose") { continue }
                if text.contains("Process()") || text.contains("posix_spawn") || text.contains("waitUntilExit()") {  // unbounded on purpose: the check itself
                    offences.append("\(file):\(number + 1): starts or waits for a process outside TestProcess: \(text.trimmingCharacters(in: .whitespaces))")
                }
                if text.range(of: #"subprocess\.(run|call|check_call|check_output|Popen)\("#, options: .regularExpression) != nil
                    && !text.contains("timeout=") {
                    offences.append("\(file):\(number + 1): a Python subprocess without timeout=: \(text.trimmingCharacters(in: .whitespaces))")
                }
            }
        }
        #expect(offences.isEmpty, "\(offences.joined(separator: "\n"))")
    }

    /// A bounded process that outlives its time is killed and fails the test, naming its command
    /// line and quoting its output.
    @Test func aProcessPastItsTimeIsKilledAndNamed() throws {
        let start = Date()
        final class Recorded: @unchecked Sendable { var issues: [String] = []; let lock = NSLock() }
        let recorded = Recorded()
        let p = try TestProcess("/bin/sh", ["-c", "echo still working; exec sleep 600"])
        withKnownIssue {
            let r = p.finish(within: 1)
            #expect(r.status != 0)
        } matching: { issue in
            recorded.lock.withLock { recorded.issues.append("\(issue)") }
            return true
        }
        #expect(Date().timeIntervalSince(start) < 30)
        #expect(recorded.issues.contains { $0.contains("did not finish within 1 s, killed: /bin/sh -c 'echo still working; exec sleep 600'")
                                    && $0.contains("still working") }, "\(recorded.issues)")
    }

    /// The suite's watchdog (`make test` runs the suite under it): past its limit it names the test
    /// that started and did not finish, shows its processes, kills them and fails (exit 124).
    @Test func theWatchdogNamesAHangingTestAndFails() throws {
        let start = Date()
        let r = try runProcess(Self.root + "/scripts/test-watchdog",
                               ["/bin/sh", "-c", "echo '◇ Test quick() started.'; echo '✔ Test quick() passed after 0.1 seconds.'; "
                                + "echo '◇ Test hangsForever() started.'; exec sleep 600"],
                               timeout: 60, environment: ["SWIFTGAN_TEST_WATCHDOG_SECONDS": "3"])
        #expect(r.status == 124, "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.contains("the tests ran past 3 s; still running:\n  hangsForever()"), "\(r.stdout)")
        #expect(!r.stdout.contains("  quick()\n") && r.stdout.contains("sleep 600"), "\(r.stdout)")
        #expect(Date().timeIntervalSince(start) < 30)
        // And when the tests end: the wall time and the slowest tests.
        let done = try runProcess(Self.root + "/scripts/test-watchdog",
                                  ["/bin/sh", "-c", "echo '✔ Test a() passed after 1.5 seconds.'; echo '✘ Test b() failed after 2.25 seconds.'; exit 3"],
                                  timeout: 60)
        #expect(done.status == 3 && done.stdout.contains("the tests took 0 min") && done.stdout.contains("slowest 2 of 2 tests:\n      2.25 s  b()"),
                "\(done.stdout)")
    }

    /// A test that hangs on purpose, behind SWIFTGAN_TEST_HANG=1, to see the watchdog at work on the
    /// real suite: SWIFTGAN_TEST_HANG=1 SWIFTGAN_TEST_WATCHDOG_SECONDS=60 make test.
    @Test func hangsWhenAsked() throws {
        guard ProcessInfo.processInfo.environment["SWIFTGAN_TEST_HANG"] == "1" else { return }
        let p = Process()  // unbounded on purpose: the watchdog's own demonstration
        p.executableURL = URL(fileURLWithPath: "/bin/sleep")
        p.arguments = ["100000"]
        try p.run()
        p.waitUntilExit()  // unbounded on purpose
    }
}
