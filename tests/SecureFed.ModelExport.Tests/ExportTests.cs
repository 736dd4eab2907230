using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using SecureFed.Audit;
using SecureFed.Coordinator;
using SecureFed.Hosting;
using SecureFed.Identity;
using SecureFed.Studies;
using SecureFed.Training;
using Xunit.Abstractions;

namespace SecureFed.ModelExport.Tests;

/// <summary>
/// <see cref="FederationExporter"/> on real federations: the card says what the store and the verified ledger say,
/// the exported model reloads and predicts as TorchSharp does on the same rows, and an export whose store and ledger
/// disagree is refused naming what differs.
/// </summary>
[Collection(FederationCollection.Name)]
public sealed class ExportTests(FederationRuns runs, ITestOutputHelper output) : IDisposable
{
    private readonly TempFolder _out = new();

    public void Dispose() => _out.Dispose();

    [Theory]
    [InlineData("logreg")]
    [InlineData("mlp")]
    [InlineData("cnn")]
    public async Task Export_CompletedFederation_CardMatchesStoreAndLedger(string kind)
    {
        var run = await runs.GetAsync(kind);

        var result = FederationExporter.Export(ExportSource.FromRunFolder(run.Folder), ModelMapping.SpecOf, _out.Path);

        var store = FederationStore.Open(Path.Combine(run.Folder, ExportSource.StoreFileName), result.Card.FederationId);
        var latest = store.LatestModel()!;
        var study = Study.Load(run.StudyPath);
        var spec = ModelMapping.SpecOf(study);
        var entries = AuditLedger.Read(Path.Combine(run.Folder, "federation.ledger.jsonl"));
        using var coordinator = CertificateStore.LoadCertificate(Path.Combine(run.Folder, "coordinator.pem"));
        using var ca = CertificateStore.LoadCertificate(Path.Combine(run.Folder, "ca.pem"));
        var verified = LedgerVerifier.Verify(entries, coordinator, ca, TimeProvider.System);
        using var summary = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(run.Folder, "summary.json")));
        var card = result.Card;

        Assert.Equal(latest.Hash, card.ModelHash);
        Assert.Equal(summary.RootElement.GetProperty("final_model_hash").GetString(), card.ModelHash);
        Assert.Equal(verified.HeadHash, card.LedgerHeadHash);
        Assert.Equal(entries.Count, card.LedgerEntries);
        Assert.Equal(study.Hash, card.StudyHash);
        Assert.Equal(store.Statistics()!.Value.Hash, card.StatisticsHash);
        Assert.Equal(study.Name, card.Study);
        Assert.Equal(study.Label.Classes, card.Classes);
        Assert.Equal(kind, card.Architecture.Kind);
        Assert.Equal(spec.Describe(), card.Architecture.Description);
        Assert.Equal(spec.ParameterCount, card.Architecture.ParameterCount);
        Assert.Equal(spec.Layers, card.Architecture.Layers);
        Assert.Equal(new ModelCardRounds(2, 2), card.Rounds);
        // With noise a round's evaluation is withheld when its noisy example count is not positive, so the card's
        // metrics are the last round's that has one, or none at all.
        if (entries.LastOrDefault(e => e.Evaluation is not null) is { Evaluation: { } evaluated } entry)
        {
            Assert.Equal(entry.Round, card.Metrics!.Round);
            Assert.Equal(evaluated.Accuracy, card.Metrics.Accuracy);
            Assert.Equal(evaluated.Loss, card.Metrics.Loss);
            Assert.Equal(evaluated.ModelHash, card.Metrics.ModelHash);
        }
        else
        {
            Assert.NotNull(card.Privacy);
            Assert.Null(card.Metrics);
        }

        Assert.Equal(study.Inputs.Where(i => !i.MissingLevel).Select(i => new ModelInput(i.Column, i.Category)), card.Inputs);
        Assert.Equal(study.Features.Count(f => f.Type == FeatureType.Numeric), card.Preprocessing.Count);
        if (kind == "logreg")
        {
            // The run with differential privacy: the card's epsilon is the one the verifier recomputed.
            Assert.NotNull(card.Privacy);
            Assert.Equal("rdp", card.Privacy!.Accountant);
            Assert.Equal(verified.FinalEpsilon!.Rdp, card.Privacy.Epsilon!.Value, 9);
            Assert.Equal(summary.RootElement.GetProperty("epsilon").GetDouble(), card.Privacy.Epsilon.Value, 9);
            Assert.Equal(1.0, card.Privacy.NoiseMultiplier);
        }
        else
        {
            Assert.Null(card.Privacy);
            // Without noise every round's evaluation is released: the last one is of the final model.
            Assert.Equal(latest.Hash, card.Metrics!.ModelHash);
            Assert.Equal(2, card.Metrics.Round);
        }

        var reloaded = ModelCard.Load(result.CardPath);
        Assert.Equal(card.ToJson(), reloaded.ToJson());
    }

    [Theory]
    [InlineData("logreg")]
    [InlineData("mlp")]
    [InlineData("cnn")]
    public async Task Export_Reloaded_OrtProbabilitiesEqualTorchOnTheSilosRows(string kind)
    {
        var run = await runs.GetAsync(kind);
        var result = FederationExporter.Export(ExportSource.FromRunFolder(run.Folder), ModelMapping.SpecOf, _out.Path);
        var store = FederationStore.Open(Path.Combine(run.Folder, ExportSource.StoreFileName), result.Card.FederationId);
        var study = Study.Load(run.StudyPath);
        var spec = ModelMapping.SpecOf(study);
        var statistics = FeatureStatistics.FromSum(study, FeatureStatistics.PostProcess(study, store.Statistics()!.Value.Vector));
        var encoder = new StudyEncoder(study, statistics);

        using var predictor = ModelPredictor.Load(result.OnnxPath, threads: 1);
        var largest = 0.0;
        foreach (var file in run.SiloFiles)
        {
            var onnx = predictor.Predict(SiloTable.ReadFeatures(predictor.Study, file));
            var table = SiloTable.Read(study, file);
            var torch = Evaluator.Probabilities(spec, store.LatestModel()!.Parameters, encoder.Encode(table), table.RowCount);

            Assert.Equal(table.RowCount, onnx.Rows);
            largest = Math.Max(largest, torch.Zip(onnx.Probabilities, (t, o) => (double)Math.Abs(t - o)).Max());
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{spec.Describe()}: max |ORT - Torch| = {largest:E2}"));
        Assert.InRange(largest, 0, 1e-5);
    }

    [Fact]
    public async Task Export_LedgerCutShort_RefusedNamingTheLedgerHead()
    {
        var copy = runs.Copy(await runs.GetAsync("mlp"));
        var ledger = Path.Combine(copy, "federation.ledger.jsonl");
        var lines = await File.ReadAllLinesAsync(ledger);
        await File.WriteAllLinesAsync(ledger, lines[..^1]);

        var error = Assert.Throws<ExportRefusedException>(() => FederationExporter.Export(ExportSource.FromRunFolder(copy), ModelMapping.SpecOf, _out.Path));

        Assert.StartsWith("ledger head differs from the store", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
        Assert.False(File.Exists(_out.PathOf(FederationExporter.OnnxFileName)));
        Assert.False(File.Exists(_out.PathOf(FederationExporter.CardFileName)));
    }

    [Fact]
    public async Task Export_StoreModelReplaced_RefusedNamingTheModelHash()
    {
        var copy = runs.Copy(await runs.GetAsync("mlp"));
        var store = Path.Combine(copy, ExportSource.StoreFileName);
        ReplaceLatestModel(store);

        // As an older SecureFed would have left it (no row hashes yet), so the edit is not caught as a damaged row but
        // by the comparison with the signed ledger.
        Sql(store, "UPDATE model_versions SET row_hash = NULL; UPDATE rounds SET row_hash = NULL; UPDATE privacy_charges SET row_hash = NULL; UPDATE privacy_releases SET row_hash = NULL; UPDATE statistics SET row_hash = NULL; DELETE FROM meta WHERE key = 'row_hash';");

        var error = Assert.Throws<ExportRefusedException>(() => FederationExporter.Export(ExportSource.FromRunFolder(copy), ModelMapping.SpecOf, _out.Path));

        Assert.StartsWith("model hash differs: the store's latest model is", error.Message, StringComparison.Ordinal);
        Assert.Contains("signed ledger's final model", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(_out.PathOf(FederationExporter.OnnxFileName)));
    }

    [Fact]
    public async Task Export_NoCompletedTrainingRound_Refused()
    {
        var copy = runs.Copy(await runs.GetAsync("mlp"));
        // What a federation stopped after its statistics round leaves: round 0 in the store and the ledger, no model but the initial one.
        Sql(Path.Combine(copy, ExportSource.StoreFileName), "DELETE FROM rounds WHERE round > 0; DELETE FROM model_versions WHERE version > 0;");
        var ledger = Path.Combine(copy, "federation.ledger.jsonl");
        await File.WriteAllLinesAsync(ledger, (await File.ReadAllLinesAsync(ledger))[..1]);
        File.Delete(Path.Combine(copy, ExportSource.SummaryFileName));

        var error = Assert.Throws<ExportRefusedException>(() => FederationExporter.Export(ExportSource.FromRunFolder(copy), ModelMapping.SpecOf, _out.Path));

        Assert.Contains("has no completed training round", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Export_PublishedHeadDiffers_Refused()
    {
        var run = await runs.GetAsync("mlp");
        var source = ExportSource.FromRunFolder(run.Folder) with { ExpectedLedgerHead = new string('a', 64) };

        var error = Assert.Throws<ExportRefusedException>(() => FederationExporter.Export(source, ModelMapping.SpecOf, _out.Path));

        Assert.StartsWith("ledger head differs: the ledger ends at", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Export_LedgerEntryAltered_RefusedBecauseItDoesNotVerify()
    {
        var copy = runs.Copy(await runs.GetAsync("mlp"));
        var ledger = Path.Combine(copy, "federation.ledger.jsonl");
        var lines = await File.ReadAllLinesAsync(ledger);
        var latest = FederationStore.Open(Path.Combine(copy, ExportSource.StoreFileName), AuditLedger.Read(ledger)[0].FederationId).LatestModel()!;
        // Point the last entry at another model: the store would match a forged ledger, but the forgery does not verify.
        lines[^1] = lines[^1].Replace(latest.Hash, new string('b', 64), StringComparison.Ordinal);
        await File.WriteAllLinesAsync(ledger, lines);

        var error = Assert.Throws<ExportRefusedException>(() => FederationExporter.Export(ExportSource.FromRunFolder(copy), ModelMapping.SpecOf, _out.Path));

        Assert.Contains("does not verify", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Replaces the newest model version with other parameters under their own (correct) hash.</summary>
    internal static void ReplaceLatestModel(string storePath)
    {
        using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = storePath, Pooling = false }.ToString());
        c.Open();
        using var read = c.CreateCommand();
        read.CommandText = "SELECT version, parameters FROM model_versions ORDER BY version DESC LIMIT 1";
        long version;
        float[] parameters;
        using (var r = read.ExecuteReader())
        {
            Assert.True(r.Read());
            version = r.GetInt64(0);
            var bytes = (byte[])r.GetValue(1);
            parameters = new float[bytes.Length / sizeof(float)];
            Buffer.BlockCopy(bytes, 0, parameters, 0, bytes.Length);
        }

        parameters[0] += 0.5f;
        var raw = new byte[parameters.Length * sizeof(float)];
        Buffer.BlockCopy(parameters, 0, raw, 0, raw.Length);
        using var write = c.CreateCommand();
        write.CommandText = "UPDATE model_versions SET parameters = $p, hash = $h WHERE version = $v";
        write.Parameters.AddWithValue("$p", raw);
        write.Parameters.AddWithValue("$h", Protocol.ModelHash.Compute(parameters));
        write.Parameters.AddWithValue("$v", version);
        Assert.Equal(1, write.ExecuteNonQuery());
    }

    internal static void Sql(string storePath, string sql)
    {
        using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = storePath, Pooling = false }.ToString());
        c.Open();
        using var command = c.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
