// Reference outputs of the nsfwjs package itself, for tests/zoo/test_nsfwjs.py.
//
// Runs nsfwjs 4.3.0 on @tensorflow/tfjs 4.22.0 (pure-JS CPU backend) in Node.js and
// writes ref.json: each model's 5 class probabilities and its spatially averaged
// feature layer (MobileNetV2: out_relu, InceptionV3: mixed10) for three photos. Run it in
// a scratch folder outside the repository (about 3 minutes):
//
//   npm install --prefix . nsfwjs@4.3.0 @tensorflow/tfjs@4.22.0 buffer
//   python3 -c "import numpy as np, skimage.data as d
//   for s in (224, 299):
//       ims = []
//       for n in ('astronaut', 'chelsea', 'coffee'):
//           im = getattr(d, n)()[..., :3]; t, l = (im.shape[0] - s) // 2, (im.shape[1] - s) // 2
//           ims.append(im[t:t + s, l:l + s])
//       np.stack(ims).astype(np.uint8).tofile(f'crops{s}.raw')"
//   node /path/to/pedrank/scripts/nsfwjs_reference.js
//
// then store ref.json's arrays in tests/zoo/data/nsfwjs_reference.npz (float32; keys
// mobilenetv2_probs, mobilenetv2_features, inceptionv3_probs, inceptionv3_features).
// The crops are exactly the model sizes, so the package does not resize them.
const tf = require('@tensorflow/tfjs');
const nsfwjs = require('nsfwjs');
const fs = require('fs');

async function run(name, size, endpoint) {
  const m = await nsfwjs.load(name, {size});
  const raw = new Uint8Array(fs.readFileSync(`crops${size}.raw`));
  const n = raw.length / (size*size*3);
  const out = {probs: [], features: []};
  for (let i = 0; i < n; i++) {
    const img = tf.tensor3d(raw.slice(i*size*size*3, (i+1)*size*size*3), [size, size, 3], 'int32');
    out.probs.push(Array.from(await m.infer(img).data()));
    const f = m.infer(img, endpoint);
    out.features.push(Array.from(await f.mean([1, 2]).data()));
    const c = await m.classify(img);
    console.error(name, i, JSON.stringify(c.map(x => [x.className, x.probability.toFixed(4)])));
  }
  return out;
}
(async () => {
  const res = {tfjs: tf.version.tfjs, nsfwjs: JSON.parse(fs.readFileSync('node_modules/nsfwjs/package.json')).version};
  res.MobileNetV2 = await run('MobileNetV2', 224, 'out_relu');
  res.InceptionV3 = await run('InceptionV3', 299, 'mixed10');
  fs.writeFileSync('ref.json', JSON.stringify(res));
})();
