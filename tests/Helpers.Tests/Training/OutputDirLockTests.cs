using FineTuning.Reliability;
using FineTuning.Tests.Reliability;
using FineTuning.Training;

namespace FineTuning.Tests.Training;

/// <summary>One Trainer per output folder: a second one (same process or another) is refused with a message naming
/// the first; the lock dies with its process, so a killed trainer never blocks the next.</summary>
public class OutputDirLockTests
{
    [Fact]
    public void A_Second_Trainer_On_The_Same_Output_Dir_Is_Refused_While_The_First_Trains_Then_Runs_After_It()
    {
        using var folder = new TempFolder();
        var train = TinyTraining.MarkerTask(32, seed: 1);
        var args = TinyTraining.Args(folder.Path) with { MaxSteps = 3, SaveStrategy = SaveStrategy.Steps, SaveSteps = 1 };
        using var secondModel = TinyTraining.Model(seed: 2);
        var second = new Trainer(secondModel, args, train);
        IOException? refused = null, refusedSave = null;
        using var firstModel = TinyTraining.Model(seed: 1);
        var first = new Trainer(firstModel, args, train, callbacks: [new OnStep(state =>
        {
            if (state.GlobalStep != 2) return;
            refused = Assert.Throws<IOException>(() => second.Train());
            refusedSave = Assert.Throws<IOException>(() => second.SaveModel());
        })]);

        Assert.Equal(3, first.Train().GlobalStep); // the first is not disturbed

        Assert.NotNull(refused);
        var full = Path.GetFullPath(folder.Path);
        Assert.StartsWith($"The output directory {full} is in use by another Trainer (process {Environment.ProcessId} on {Environment.MachineName}, since ", refused!.Message);
        Assert.EndsWith("UTC): two trainers writing the same folder would mix their checkpoints. Wait for it to finish, stop it, or give this one "
            + $"another OutputDir. (The lock, {Path.Combine(full, ".trainer.lock")}, is released as soon as that process exits, even if it is killed.)", refused.Message);
        Assert.Equal(refused.Message, refusedSave!.Message);
        Assert.Equal(0, second.State.GlobalStep);
        Assert.Equal(["checkpoint-1", "checkpoint-2", "checkpoint-3"], Directory.GetDirectories(folder.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));

        Assert.Equal(3, second.Train().GlobalStep); // released at the end of the first run
        Assert.False(File.Exists(Path.Combine(folder.Path, ".trainer.lock")));   // and no lock file is left behind
    }

    [Fact]
    public void A_Released_Lock_Leaves_No_File_And_A_Lock_On_A_File_Removed_Meanwhile_Is_Taken_Again()
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, OutputDirLock.FileName);
        using (OutputDirLock.Acquire(folder.Path))
            Assert.True(File.Exists(path));
        Assert.False(File.Exists(path));

        // A killed trainer's file: taken over, then removed at the end.
        File.WriteAllText(path, "process 1 on elsewhere, since 2020-01-01 00:00:00 UTC\n");
        using (OutputDirLock.Acquire(folder.Path)) { }
        Assert.False(File.Exists(path));

        // The name no longer leads to the file just locked (its holder removed it): the lock is taken on the new file.
        var first = OutputDirLock.Acquire(folder.Path);
        File.Move(path, path + ".old");    // as if removed while another process was opening it
        using (var second = OutputDirLock.Acquire(folder.Path))
        {
            Assert.True(File.Exists(path));
            Assert.Throws<IOException>(() => OutputDirLock.Acquire(folder.Path));   // the new file is the one locked
        }
        first.Dispose();   // removes nothing: the name is not its file any more
        Assert.True(File.Exists(path + ".old"));
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void A_Trainer_In_Another_Process_Holds_The_Lock_Until_It_Is_Killed_Then_The_Stale_Lock_Does_Not_Block()
    {
        using var folder = new TempFolder();
        using var model = TinyTraining.Model(seed: 1);
        var trainer = new Trainer(model, TinyTraining.Args(folder.Path) with { MaxSteps = 2 }, TinyTraining.MarkerTask(32, seed: 1));
        using (var child = new ChildProcess(new Dictionary<string, string> { [CrashChild.PauseVariable] = "1" }, "crash-child", folder.Path))
        {
            child.WaitFor(l => l.StartsWith("PAUSED "), TimeSpan.FromSeconds(90), "its first checkpoint write");

            var refused = Assert.Throws<IOException>(() => trainer.Train());
            Assert.Contains($"is in use by another Trainer (process {child.Id} on ", refused.Message);

            child.Kill(); // SIGKILL: no cleanup in the child; the kernel drops its flock
        }
        Assert.True(File.Exists(Path.Combine(folder.Path, ".trainer.lock")));
        Assert.Equal(2, trainer.Train().GlobalStep);
        Assert.Empty(Directory.GetDirectories(folder.Path, ".checkpoint-*")); // the killed save was cleaned up
    }

    [Fact]
    public void An_Output_Dir_That_Is_A_File_Is_Refused_Clearly()
    {
        using var folder = new TempFolder();
        var file = folder.Write("taken", "not a folder");
        using var model = TinyTraining.Model(seed: 1);
        var trainer = new Trainer(model, TinyTraining.Args(file) with { MaxSteps = 2 }, TinyTraining.MarkerTask(32, seed: 1));

        var error = Assert.Throws<IOException>(() => trainer.Train());

        Assert.Equal($"The output directory {file} is a file, not a folder. Give OutputDir a folder path.", error.Message);
    }

    sealed class OnStep(Action<TrainerState> action) : TrainerCallback
    {
        public override void OnStepEnd(TrainingArguments args, TrainerState state, TrainerControl control) => action(state);
    }
}
