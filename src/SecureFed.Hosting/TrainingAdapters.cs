using SecureFed.Agent;
using SecureFed.Coordinator;
using SecureFed.Protocol;
using SecureFed.Training;

namespace SecureFed.Hosting;

/// <summary>Maps the protocol's model and training descriptors to the training library's types.</summary>
public static class ModelMapping
{
    /// <summary>The default model kind for a dataset: logistic regression for tabular data, an MLP for digits.</summary>
    public static string DefaultModelKind(string dataset) => dataset == "digits" ? "mlp" : "logreg";

    /// <summary>Descriptor of a model for a dataset shape.</summary>
    public static ModelDescriptor Describe(string kind, int inputDim, int classCount, int hidden = 32) => new(kind, inputDim, classCount, hidden);

    /// <summary>The training library's model spec for a descriptor.</summary>
    public static ModelSpec ToSpec(ModelDescriptor model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return new ModelSpec(model.Kind, model.InputDim, model.ClassCount, model.Hidden);
    }

    /// <summary>Default local training parameters for a dataset and model.</summary>
    public static TrainingParameters DefaultTraining(string dataset, string kind, long seed)
    {
        var s = TrainingSettings.DefaultFor(dataset, kind);
        return new TrainingParameters(s.Epochs, s.BatchSize, s.LearningRate, seed);
    }

    /// <summary>The local training recipe a study declares.</summary>
    public static TrainingParameters TrainingOf(Studies.Study study, long seed)
    {
        ArgumentNullException.ThrowIfNull(study);
        return new TrainingParameters(study.Training.Epochs, study.Training.BatchSize, study.Training.LearningRate, seed);
    }

    /// <summary>The training library's settings for protocol training parameters.</summary>
    public static TrainingSettings ToSettings(TrainingParameters p)
    {
        ArgumentNullException.ThrowIfNull(p);
        return new TrainingSettings { Epochs = p.Epochs, BatchSize = p.BatchSize, LearningRate = p.LearningRate, Seed = unchecked((int)p.Seed) };
    }
}

/// <summary>Evaluates global models on the coordinator's held-out set with the training library. One caller at a time.</summary>
public sealed class TrainingModelEvaluator : IModelEvaluator
{
    private readonly ModelSpec _spec;
    private readonly TabularDataset _test;
    private readonly int _seed;

    /// <summary>Creates the evaluator.</summary>
    public TrainingModelEvaluator(ModelDescriptor model, TabularDataset test, int seed)
    {
        _spec = ModelMapping.ToSpec(model);
        _test = test;
        _seed = seed;
    }

    /// <inheritdoc />
    public float[] InitialParameters() => ModelFactory.InitialParameters(_spec, _seed);

    /// <inheritdoc />
    public ModelQuality Evaluate(float[] parameters)
    {
        var r = Evaluator.Evaluate(_spec, parameters, _test);
        return new ModelQuality(r.Accuracy, r.Loss);
    }
}

/// <summary>Trains on one silo's data with the training library. The data stays inside this object.</summary>
public sealed class TorchLocalTrainer : ILocalTrainer
{
    private readonly TabularDataset _data;
    private readonly SemaphoreSlim _torch;

    /// <summary>
    /// Creates the trainer for a silo holding <paramref name="data"/> of the dataset named <paramref name="dataset"/>.
    /// <paramref name="torchGate"/> serialises torch work shared by agents in one process.
    /// </summary>
    public TorchLocalTrainer(string dataset, TabularDataset data, SemaphoreSlim? torchGate = null)
    {
        Dataset = dataset;
        _data = data;
        _torch = torchGate ?? new SemaphoreSlim(1, 1);
    }

    /// <inheritdoc />
    public string Dataset { get; }

    /// <inheritdoc />
    public async Task<LocalUpdate> TrainAsync(RoundPlan plan, float[] globalParameters, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var spec = ModelMapping.ToSpec(plan.Model);
        if (spec.InputDim != _data.FeatureCount)
        {
            throw new PolicyRefusedException($"the plan's model takes {spec.InputDim} features, this silo's data has {_data.FeatureCount}");
        }

        await _torch.WaitAsync(cancellationToken);
        try
        {
            var result = await Task.Run(() => LocalTrainer.Train(spec, globalParameters, _data, ModelMapping.ToSettings(plan.Training)), cancellationToken);
            return new LocalUpdate(result.Delta, result.Examples);
        }
        finally
        {
            _torch.Release();
        }
    }
}
