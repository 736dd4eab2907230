using static TorchSharp.torch;

namespace SecureFed.Training.Internal;

/// <summary>
/// The update rule both training loops share: SGD (optionally heavy-ball momentum) or Adam with bias correction, with
/// L2 weight decay added to the gradient first, as torch.optim does (and Opacus, which hands torch the noisy gradient).
/// The moment buffers are created in the caller's dispose scope and start at zero. Not thread-safe; one per run.
/// </summary>
internal sealed class Optimizer
{
    private readonly TrainingSettings _settings;
    private readonly Tensor? _velocity;
    private readonly Tensor? _second;
    private long _steps;

    internal Optimizer(Tensor theta, TrainingSettings settings)
    {
        _settings = settings;
        var adam = string.Equals(settings.Optimizer.Trim(), TrainingSettings.Adam, StringComparison.OrdinalIgnoreCase);
        _velocity = settings.Momentum > 0 || adam ? zeros_like(theta) : null;
        _second = adam ? zeros_like(theta) : null;
    }

    /// <summary>One step of <paramref name="theta"/> along <paramref name="grad"/> (modified in place by the decay); call under no_grad.</summary>
    internal void Step(Tensor theta, Tensor grad)
    {
        var lr = _settings.LearningRate;
        if (_settings.WeightDecay > 0)
        {
            grad.add_(theta, alpha: _settings.WeightDecay);
        }

        _steps++;
        if (_second is not null)
        {
            // Adam with bias correction: theta -= lr * m_hat / (sqrt(v_hat) + eps).
            var (b1, b2) = (_settings.Beta1, _settings.Beta2);
            _velocity!.mul_(b1).add_(grad, alpha: 1 - b1);
            _second.mul_(b2).addcmul_(grad, grad, value: 1 - b2);
            var correction1 = 1 - Math.Pow(b1, _steps);
            var correction2 = 1 - Math.Pow(b2, _steps);
            var denominator = _second.div(correction2).sqrt_().add_(1e-8);
            theta.addcdiv_(_velocity, denominator, value: -lr / correction1);
        }
        else if (_velocity is not null)
        {
            _velocity.mul_(_settings.Momentum).add_(grad);
            theta.add_(_velocity, alpha: -lr);
        }
        else
        {
            theta.add_(grad, alpha: -lr);
        }
    }
}
