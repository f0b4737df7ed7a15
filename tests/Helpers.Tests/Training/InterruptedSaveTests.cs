using FineTuning.Training;

namespace FineTuning.Tests.Training;

/// <summary>What a process killed in the middle of a checkpoint save, replacement or deletion leaves behind is never
/// taken for a checkpoint, and the next Train repairs it before choosing the last checkpoint.</summary>
public class InterruptedSaveTests
{
    static string Guid32() => Guid.NewGuid().ToString("N");

    [Fact]
    public void RemoveInterruptedSaves_Deletes_Half_Writes_And_Half_Deletes_And_Restores_A_Checkpoint_Set_Aside_For_Replacement()
    {
        using var folder = new TempFolder();
        string Dir(string name) => Directory.CreateDirectory(Path.Combine(folder.Path, name)).FullName;
        Dir("checkpoint-2");
        var halfWritten = Dir($".checkpoint-6.{Guid32()}.tmp");
        var halfDeleted = Dir($".checkpoint-1.{Guid32()}.deleting");
        var replacedAndNew = Dir($".checkpoint-2.{Guid32()}.old");      // checkpoint-2 is in place: the old copy goes
        var setAside = Dir($".checkpoint-8.{Guid32()}.old");             // checkpoint-8 never arrived: this one comes back
        folder.Write(Path.Combine(Path.GetFileName(setAside), "trainer_state.json"), "{}");
        var tempFile = folder.Write($".config.json.{Guid32()}.tmp", "{");
        var userFiles = new[] { folder.Write("notes.txt", "mine"), folder.Write(".hidden", "mine"), Dir("checkpoint-x"), Dir(".checkpoint-3.tmp") };

        var done = TrainerCheckpoint.RemoveInterruptedSaves(folder.Path);

        Assert.Equal(5, done.Count);
        Assert.False(Directory.Exists(halfWritten));
        Assert.False(Directory.Exists(halfDeleted));
        Assert.False(Directory.Exists(replacedAndNew));
        Assert.False(File.Exists(tempFile));
        Assert.True(File.Exists(Path.Combine(folder.Path, "checkpoint-8", "trainer_state.json")));
        Assert.Contains($"Restored {Path.Combine(folder.Path, "checkpoint-8")}: a save that was replacing it was interrupted.", done);
        Assert.Contains($"Removed {halfWritten}, left by an interrupted checkpoint save.", done);
        Assert.All(userFiles, f => Assert.True(File.Exists(f) || Directory.Exists(f), $"{f} is not ours and must stay"));
        Assert.Equal(["checkpoint-2", "checkpoint-8"], TrainerCheckpoint.Sorted(folder.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void Resume_After_A_Kill_Between_Setting_The_Old_Checkpoint_Aside_And_Renaming_The_New_One_Uses_The_Old_One()
    {
        using var folder = new TempFolder();
        var train = TinyTraining.MarkerTask(64, seed: 2);
        var args = TinyTraining.Args(folder.Path) with { MaxSteps = 4, SaveStrategy = SaveStrategy.Steps, SaveSteps = 2 };
        using (var model = TinyTraining.Model(seed: 1))
            new Trainer(model, args, train).Train();
        // The crash window of a replacement: checkpoint-4 renamed aside, the new copy complete but not yet renamed.
        var checkpoint4 = Path.Combine(folder.Path, "checkpoint-4");
        Directory.Move(checkpoint4, Path.Combine(folder.Path, $".checkpoint-4.{Guid32()}.old"));
        Directory.CreateDirectory(Path.Combine(folder.Path, $".checkpoint-4.{Guid32()}.tmp"));
        Assert.Equal("checkpoint-2", Path.GetFileName(TrainerCheckpoint.GetLastCheckpoint(folder.Path)));

        int began = -1;
        using var resumed = TinyTraining.Model(seed: 5);
        var trainer = new Trainer(resumed, args with { MaxSteps = 6 }, train, callbacks: [new BeginHook(s => began = s.GlobalStep)]);
        Assert.Equal(6, trainer.Train(resumeFromCheckpoint: true).GlobalStep);

        Assert.Equal(4, began);
        Assert.Empty(Directory.GetDirectories(folder.Path, ".checkpoint-*"));
    }

    [Fact]
    public void Saving_A_Step_Whose_Checkpoint_Exists_Replaces_It_Whole()
    {
        using var folder = new TempFolder();
        var train = TinyTraining.MarkerTask(64, seed: 2);
        var args = TinyTraining.Args(folder.Path) with { MaxSteps = 2, SaveStrategy = SaveStrategy.Steps, SaveSteps = 2 };
        using (var model = TinyTraining.Model(seed: 1))
            new Trainer(model, args, train).Train();
        var marker = folder.Write(Path.Combine("checkpoint-2", "stale.txt"), "from the first run");

        using (var model = TinyTraining.Model(seed: 3))
            new Trainer(model, args, train).Train();

        Assert.False(File.Exists(marker));
        Assert.True(File.Exists(Path.Combine(folder.Path, "checkpoint-2", "model.safetensors")));
        Assert.Equal(["checkpoint-2"], Directory.GetFileSystemEntries(folder.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    sealed class BeginHook(Action<TrainerState> action) : TrainerCallback
    {
        public override void OnTrainBegin(TrainingArguments args, TrainerState state, TrainerControl control) => action(state);
    }
}
