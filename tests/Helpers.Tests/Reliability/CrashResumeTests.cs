using FineTuning.Reliability;
using FineTuning.SafeTensors;
using FineTuning.Training;
using Xunit.Abstractions;

namespace FineTuning.Tests.Reliability;

/// <summary>
/// Training survives SIGKILL at any moment: a child process (tools/Reliability crash-child) trains a tiny model with
/// a checkpoint every 2 steps and is killed 10 times at seeded random moments — 5 at exact points inside a checkpoint
/// write (before a chunk of a file, or before the rename that publishes a file or the folder), 5 up to 60 ms after a
/// random step, wherever that lands (a step, a checkpoint write, a rotation) — and each time resumed with <c>Train(resumeFromCheckpoint: true)</c>. After every kill each visible
/// <c>checkpoint-N</c> must be complete, and the resume must start from the newest of them; the end must be
/// byte-identical to an uninterrupted run.
/// </summary>
public class CrashResumeTests(ITestOutputHelper output)
{
    static readonly string[] CheckpointFiles =
        ["config.json", "model.safetensors", "optimizer.safetensors", "rng_state.safetensors", "scheduler.json", "trainer_state.json", "training_args.json"];
    static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    public void Ten_Kills_At_Random_Moments_Including_Mid_Checkpoint_Then_Resumes_End_Bit_Identical_To_An_Uninterrupted_Run()
    {
        using var straight = new TempFolder();
        using var crashed = new TempFolder();
        using (var child = new ChildProcess(null, "crash-child", straight.Path))
            Assert.True(child.WaitForExit(Patience) == 0, $"the uninterrupted run failed: {child.Errors}");

        var random = new Random(20240611);
        int midWriteKills = 0;
        for (int round = 0; round < 10; round++)
        {
            var last = TrainerCheckpoint.GetLastCheckpoint(crashed.Path);
            int expectedBegin = last is null ? 0 : Step(last);
            var leftovers = Leftovers(crashed.Path);
            // Near the end (never reached with this seed) a kill after a random step could come too late: stop inside
            // the next checkpoint instead, so every round is a kill.
            bool nearEnd = expectedBegin >= CrashChild.MaxSteps - 20;
            bool pause = round % 2 == 0 || nearEnd;
            // ~150 write events per checkpoint: anywhere in the first three checkpoints this process writes
            int pauseAt = random.Next(1, nearEnd ? 120 : 450);
            var env = pause ? new Dictionary<string, string> { [CrashChild.PauseVariable] = pauseAt.ToString() } : null;
            using var child = new ChildProcess(env, "crash-child", crashed.Path);

            int begin = int.Parse(child.WaitFor(l => l.StartsWith("BEGIN "), Patience, "training began")["BEGIN ".Length..]);
            Assert.True(begin == expectedBegin, $"round {round}: resumed at step {begin}, but the last complete checkpoint was {last ?? "none"}");
            foreach (var leftover in leftovers)
                Assert.False(Directory.Exists(leftover), $"round {round}: {leftover}, left by the previous kill, was not cleaned up");

            string moment;
            if (pause)
            {
                moment = child.WaitFor(l => l.StartsWith("PAUSED "), Patience, $"write event {pauseAt} of a checkpoint");
                Assert.NotEmpty(Leftovers(crashed.Path)); // the half-written .checkpoint-N.*.tmp folder is there
            }
            else
            {
                int target = begin + random.Next(1, 10);
                child.WaitFor(l => l == $"STEP {target}", Patience, $"step {target}");
                int delay = random.Next(0, 60);
                Thread.Sleep(delay);
                moment = $"{delay} ms after step {target}";
            }
            child.Kill();

            var halfWritten = Leftovers(crashed.Path);
            if (halfWritten.Count > 0) midWriteKills++;
            output.WriteLine($"kill {round + 1}: began at step {begin}, killed at {moment}"
                + (halfWritten.Count > 0 ? $" — mid-write, left {string.Join(", ", halfWritten.Select(Path.GetFileName))}" : ""));
            foreach (var checkpoint in TrainerCheckpoint.Sorted(crashed.Path)) AssertComplete(checkpoint, round);
        }
        Assert.True(midWriteKills >= 5, $"only {midWriteKills} kills landed in the middle of a checkpoint write");

        using (var child = new ChildProcess(null, "crash-child", crashed.Path))
            Assert.True(child.WaitForExit(Patience) == 0, $"the final resumed run failed: {child.Errors}");
        Assert.Empty(Leftovers(crashed.Path));

        AssertSameBytes(Path.Combine(straight.Path, CrashChild.FinalFolder, "model.safetensors"),
                        Path.Combine(crashed.Path, CrashChild.FinalFolder, "model.safetensors"));
        var lastCheckpoint = $"checkpoint-{CrashChild.MaxSteps}";
        foreach (var file in CheckpointFiles.Where(f => f != "training_args.json")) // that one names its output_dir
            AssertSameBytes(Path.Combine(straight.Path, lastCheckpoint, file), Path.Combine(crashed.Path, lastCheckpoint, file));
    }

    static int Step(string checkpoint) => int.Parse(Path.GetFileName(checkpoint)["checkpoint-".Length..]);

    /// <summary>Hidden leftovers of interrupted saves (.checkpoint-N.{guid}.tmp / .old / .deleting).</summary>
    static List<string> Leftovers(string outputDir) =>
        Directory.GetDirectories(outputDir, ".checkpoint-*").Order(StringComparer.Ordinal).ToList();

    /// <summary>A visible checkpoint has every file, each readable, and its trainer_state.json names its step.</summary>
    static void AssertComplete(string checkpoint, int round)
    {
        foreach (var file in CheckpointFiles)
            Assert.True(File.Exists(Path.Combine(checkpoint, file)), $"after kill {round + 1}: {checkpoint} lacks {file}");
        foreach (var file in CheckpointFiles.Where(f => f.EndsWith(".safetensors")))
            using (SafeTensorsFile.Open(Path.Combine(checkpoint, file))) { }
        Assert.Equal(Step(checkpoint), TrainerState.LoadFromJson(Path.Combine(checkpoint, TrainerCheckpoint.TrainerStateName)).GlobalStep);
    }

    static void AssertSameBytes(string expected, string actual) =>
        Assert.True(File.ReadAllBytes(expected).AsSpan().SequenceEqual(File.ReadAllBytes(actual)), $"{actual} differs from {expected}");
}
