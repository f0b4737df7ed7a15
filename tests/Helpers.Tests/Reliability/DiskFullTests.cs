using System.Security.Cryptography;
using FineTuning.Tests.Training;
using FineTuning.Training;

namespace FineTuning.Tests.Reliability;

/// <summary>
/// A checkpoint save that fails part-way (a full disk, an unwritable folder) stops training with a
/// <see cref="TrainingException"/> that says what happened and where the last good checkpoint is; that checkpoint is
/// untouched, nothing of the failed save is left, and training resumes once there is room again.
/// </summary>
public class DiskFullTests
{
    public static TheoryData<string> FailurePoints => ["model.safetensors", "trainer_state.json", "publishing the folder"];

    [Theory]
    [MemberData(nameof(FailurePoints))]
    public void A_Save_That_Fails_Mid_Write_Raises_A_Clear_Error_Keeps_The_Previous_Checkpoint_And_Resumes_Later(string failingAt)
    {
        using var folder = new TempFolder();
        var train = TinyTraining.MarkerTask(64, seed: 4);
        TrainingArguments Args(string dir) => TinyTraining.Args(dir) with { MaxSteps = 6, SaveStrategy = SaveStrategy.Steps, SaveSteps = 2 };
        var snapshot = new Snapshot(Path.Combine(folder.Path, "checkpoint-2"));

        TrainingException error;
        using (var disk = failingAt == "publishing the folder"
                   ? FailingDisk.OnRename(p => Path.GetFileName(p) == "checkpoint-4")
                   : new FailingDisk(p => p.Contains("/.checkpoint-4.") && Path.GetFileName(p) == failingAt, afterBytes: 100))
        using (var model = TinyTraining.Model(seed: 1, dropout: 0.1))
        {
            var trainer = new Trainer(model, Args(folder.Path), train, callbacks: [snapshot]);
            error = Assert.Throws<TrainingException>(() => trainer.Train());
            Assert.Single(disk.Failed);
        }

        Assert.Equal(4, error.Step);
        var checkpoint2 = Path.Combine(folder.Path, "checkpoint-2");
        Assert.StartsWith($"Could not save the checkpoint of step 4 to {Path.Combine(folder.Path, "checkpoint-4")}: {FailingDisk.Message}", error.Message);
        Assert.EndsWith($"Nothing of it was kept; the last complete checkpoint, {checkpoint2}, is intact. Free some space (or give "
            + "OutputDir a writable folder), then continue with Train(resumeFromCheckpoint: true).", error.Message);
        Assert.IsType<IOException>(error.InnerException);
        snapshot.AssertUnchanged();
        Assert.Equal(["checkpoint-2"], Directory.GetFileSystemEntries(folder.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));

        // Room again: the run continues from checkpoint-2 and ends where an uninterrupted run ends.
        using var resumed = TinyTraining.Model(seed: 7, dropout: 0.1);
        Assert.Equal(6, new Trainer(resumed, Args(folder.Path), train).Train(resumeFromCheckpoint: true).GlobalStep);
        using var straightFolder = new TempFolder();
        using var straight = TinyTraining.Model(seed: 1, dropout: 0.1);
        new Trainer(straight, Args(straightFolder.Path), train).Train();
        var expected = TinyTraining.Weights(straight);
        foreach (var (name, values) in TinyTraining.Weights(resumed))
            Assert.True(values.SequenceEqual(expected[name]), $"{name} differs after resuming from the failed save");
    }

    [Fact]
    public void A_Failed_Save_Over_An_Existing_Checkpoint_Of_The_Same_Step_Leaves_The_Old_One_In_Place()
    {
        using var folder = new TempFolder();
        var train = TinyTraining.MarkerTask(64, seed: 4);
        var args = TinyTraining.Args(folder.Path) with { MaxSteps = 4, SaveStrategy = SaveStrategy.Steps, SaveSteps = 4 };
        using (var first = TinyTraining.Model(seed: 1))
            new Trainer(first, args, train).Train();
        var old = new Snapshot(Path.Combine(folder.Path, "checkpoint-4"));
        old.Take();

        // A second run into the same folder (HF overwrites checkpoint-4): the new folder cannot be put in place.
        using (FailingDisk.OnRename(p => Path.GetFileName(p) == "checkpoint-4"))
        using (var second = TinyTraining.Model(seed: 2))
            Assert.Throws<TrainingException>(() => new Trainer(second, args with { Seed = 3 }, train).Train());

        old.AssertUnchanged();
        Assert.Equal(["checkpoint-4"], Directory.GetFileSystemEntries(folder.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [TmpfsFact]
    public void On_A_Real_File_System_That_Fills_Up_The_Save_Fails_Clearly_And_The_Previous_Checkpoint_Survives()
    {
        // A checkpoint of the tiny model is ~270 KB: the first fits in 400 KB, the second does not.
        using var disk = new Tmpfs(400 * 1024);
        var snapshot = new Snapshot(Path.Combine(disk.Path, "checkpoint-2"));
        using var model = TinyTraining.Model(seed: 1);
        var args = TinyTraining.Args(disk.Path) with { MaxSteps = 6, SaveStrategy = SaveStrategy.Steps, SaveSteps = 2, SaveTotalLimit = 1 };
        var trainer = new Trainer(model, args, TinyTraining.MarkerTask(64, seed: 4), callbacks: [snapshot]);

        var error = Assert.Throws<TrainingException>(() => trainer.Train());

        Assert.Contains("No space left on device", error.Message);
        Assert.Contains($"the last complete checkpoint, {Path.Combine(disk.Path, "checkpoint-2")}, is intact", error.Message);
        snapshot.AssertUnchanged();
        Assert.Equal(["checkpoint-2"], Directory.GetFileSystemEntries(disk.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [TmpfsFact]
    public void A_Read_Only_Output_Directory_Is_Refused_Before_Training_Starts()
    {
        using var disk = new Tmpfs(64 * 1024, readOnly: true);
        using var model = TinyTraining.Model(seed: 1);
        var trainer = new Trainer(model, TinyTraining.Args(disk.Path) with { MaxSteps = 2 }, TinyTraining.MarkerTask(16, seed: 4));

        var error = Assert.Throws<IOException>(() => trainer.Train());

        Assert.StartsWith($"The output directory {disk.Path} cannot be written: ", error.Message);
        Assert.Contains("Read-only file system", error.Message);
        Assert.Equal(0, trainer.State.GlobalStep);
    }

    /// <summary>The bytes of every file of a checkpoint folder, taken when it is saved (or on <see cref="Take"/>).</summary>
    sealed class Snapshot(string folder) : TrainerCallback
    {
        Dictionary<string, string>? hashes;

        public override void OnSave(TrainingArguments args, TrainerState state, TrainerControl control)
        {
            if (hashes is null && Directory.Exists(folder)) Take();
        }

        public void Take() => hashes = Hashes();

        public void AssertUnchanged()
        {
            Assert.NotNull(hashes);
            Assert.Equal(hashes!.OrderBy(p => p.Key), Hashes().OrderBy(p => p.Key));
        }

        Dictionary<string, string> Hashes() => Directory.GetFiles(folder)
            .ToDictionary(f => Path.GetFileName(f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));
    }
}
