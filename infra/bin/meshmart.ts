// `cdk synth` / `cdk deploy` entry point (infra/cdk.json): one stack per environment, or the one `-c env=` names.
import { createApp } from '../lib/app.ts';

createApp().synth();
