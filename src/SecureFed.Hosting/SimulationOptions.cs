namespace SecureFed.Hosting;

/// <summary>Settings of an in-process federation (validated by <see cref="Validate"/>).</summary>
public sealed record SimulationOptions
{
    /// <summary>Bundled dataset name.</summary>
    public string Dataset { get; init; } = "breast-cancer";

    /// <summary>Number of silos.</summary>
    public int Silos { get; init; } = 5;

    /// <summary>Rounds to complete.</summary>
    public int Rounds { get; init; } = 20;

    /// <summary>Partition spec: iid, label-skew:ALPHA, feature:NAME.</summary>
    public string Partition { get; init; } = "iid";

    /// <summary>Seed of data split, partition, initial model and training.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>Model kind (logreg, mlp); null picks the dataset's default.</summary>
    public string? Model { get; init; }

    /// <summary>Output folder (store, logs, summary.json).</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Data folder; null searches upwards for data/.</summary>
    public string? DataDirectory { get; init; }

    /// <summary>Deadline for plan decisions.</summary>
    public TimeSpan PlanTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Deadline for uploads.</summary>
    public TimeSpan TrainTimeout { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>Checks every option; throws naming the option, value and limit.</summary>
    public SimulationOptions Validate()
    {
        if (Silos is < 1 or > 200)
        {
            throw new ArgumentException($"--silos {Silos} is invalid: must be within 1..200 for an in-process simulation");
        }

        if (Rounds is < 1 or > 10_000)
        {
            throw new ArgumentException($"--rounds {Rounds} is invalid: must be within 1..10000");
        }

        if (Model is not (null or "logreg" or "mlp"))
        {
            throw new ArgumentException($"--model '{Model}' is invalid: must be logreg or mlp");
        }

        if (string.IsNullOrWhiteSpace(OutputDirectory))
        {
            throw new ArgumentException("--out is empty: must name a folder");
        }

        return this;
    }
}
