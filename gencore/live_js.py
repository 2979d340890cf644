"""The page's script of every live demo (:mod:`gencore.live`), one copy inlined per demo with its id.

It loads onnxruntime-web from the site once, makes the demo's session from the inlined model,
reads the controls, loops over the steps and draws: no mathematics (that is the exported step).
``window.gencoreLive[id]`` exposes ``step``, ``set``, ``state``, ``frames``, ``lastMs`` and
``busy`` to the tests and the benchmark (tests/livepage.py, benchmarks/website.py).
"""

__all__ = ["SCRIPT"]

# The page's script (one for every live demo): load the runtime once, make the session, then
# loop over the steps and draw. Noise (the start points and each step's z) comes from fixed
# seeds, so a setting looks the same on every visit; step k's noise does not depend on the
# sliders, so sliding morphs one picture. No mathematics here: that is the exported step.
SCRIPT = r"""
(function(){
var root=document.getElementById('%UID%');if(!root)return;
var spec=JSON.parse(root.querySelector('.gl-spec').textContent);
var cr=document.documentElement.getAttribute('data-content_root');
var base=(root.getAttribute('data-runtime')||((cr===null?'../':cr)+spec.runtime));
var G=window.gencoreLive=window.gencoreLive||{};
function loadOrt(){if(window.ort)return Promise.resolve(window.ort);
 if(!G._ort)G._ort=new Promise(function(ok,no){var s=document.createElement('script');s.src=base+'ort.wasm-core.min.js';
  s.onload=function(){ok(window.ort)};s.onerror=function(){no(new Error('no runtime at '+s.src))};document.head.appendChild(s);});
 return G._ort;}
function rng(seed){var a=seed>>>0;return function(){a=(a+0x6D2B79F5)>>>0;var t=a;t=Math.imul(t^(t>>>15),t|1);
 t^=t+Math.imul(t^(t>>>7),t|61);return((t^(t>>>14))>>>0)/4294967296;};}
function gauss(seed,len){var r=rng(seed),out=new Float32Array(len);for(var i=0;i<len;i+=2){
 var u=1-r(),v=r(),m=Math.sqrt(-2*Math.log(u));out[i]=m*Math.cos(2*Math.PI*v);if(i+1<len)out[i+1]=m*Math.sin(2*Math.PI*v);}return out;}
var init=spec.init?Float32Array.from(spec.init):gauss(7,2*spec.n).map(function(v){return v*spec.init_scale;});
var n=init.length/2,nd=spec.noise_dim,noise={},I=spec.inputs;
function zAt(k){if(!noise[k])noise[k]=gauss(1000+k,nd*(n+1));return noise[k];}
var start=Float32Array.from(spec.start),state={},byKey={},session=null,loop=null,again=false,pts=null,path=null;
spec.sliders.forEach(function(s){state[s.key]=s.value;byKey[s.key]=s;});
var heading=root.querySelector('.gl-title'),ctrl=root.querySelector('.gl-controls'),canvas=root.querySelector('.gl-canvas'),still=root.querySelector('.gl-still'),status=root.querySelector('.gl-status');
function fmt(key){var s=byKey[key],v=state[key];if(s.labels)return s.labels[Math.round((v-s.lo)/s.step)];return s.digits>0?v.toFixed(s.digits):String(Math.round(v));}
var shown={};spec.sliders.forEach(function(s){var l=document.createElement('label');l.style.marginRight='1.2em';
 l.innerHTML=s.label+' <input type="range" min="'+s.lo+'" max="'+s.hi+'" step="'+s.step+'" value="'+s.value+'" aria-label="'+s.label+'"> <output></output>';
 var inp=l.querySelector('input'),o=l.querySelector('output');o.textContent=fmt(s.key);
 shown[s.key]=function(){inp.value=state[s.key];o.textContent=fmt(s.key);};
 inp.addEventListener('input',function(){state[s.key]=+inp.value;o.textContent=fmt(s.key);update();});ctrl.appendChild(l);});
function nsteps(){return typeof spec.steps==='string'?Math.round(state[spec.steps]):spec.steps;}
function T(type,data,dims){return new window.ort.Tensor(type,data,dims);}
function scalar(name,v){return I[name]==='int64'?T('int64',BigInt64Array.from([BigInt(Math.round(v))]),[]):T('float32',Float32Array.of(v),[]);}
async function call(f){var g={};session.inputNames.forEach(function(k){g[k]=f[k];});return (await session.run(g)).out.data;}
function feed(x,z,t,tp,rows){var f={x:T('float32',x,[rows,2]),z:T('float32',z,[rows,nd])};
 if('t' in I)f.t=scalar('t',t);if('t_prev' in I)f.t_prev=scalar('t_prev',tp);
 for(var k in I){if(!(k in f))f[k]=scalar(k,state[k]);}return f;}
async function run(x,rows,offset,keep){var ns=nsteps(),tm=spec.times.prefix||spec.times[String(ns)],trail=keep?[x]:null;
 for(var k=0;k<ns;k++){x=await call(feed(x,zAt(k).subarray(nd*offset,nd*(offset+rows)),tm[k],tm[k+1],rows));if(keep)trail.push(x);}
 return keep?trail:x;}
var W=canvas.width,H=canvas.height,pad=34,two=!!spec.start_extent;
var Pout=two?{x:W/2+pad/2,w:W/2-1.5*pad,E:spec.extent}:{x:pad,w:W-2*pad,E:spec.extent};
var Pin=two?{x:pad,w:W/2-1.5*pad,E:spec.start_extent}:Pout;
function px(P,x){return P.x+(x-P.E[0])/(P.E[1]-P.E[0])*P.w;} function py(P,y){return H-pad-(y-P.E[2])/(P.E[3]-P.E[2])*(H-2*pad);}
function clip(c,P){c.save();c.beginPath();c.rect(P.x,pad,P.w,H-2*pad);c.clip();}  // nothing drawn outside its panel
function dots(c,P,a,color,r,alpha){clip(c,P);c.fillStyle=color;c.globalAlpha=alpha;for(var i=0;i+1<a.length;i+=2){c.fillRect(px(P,a[i])-r,py(P,a[i+1])-r,2*r,2*r);}c.globalAlpha=1;c.restore();}
function gap(span){return span>12?5:span>5?2:span>2.5?1:span>1.2?0.5:span>0.5?0.2:0.1;}
function ticks(c,P){var E=P.E,d=gap(E[1]-E[0]),e=gap(E[3]-E[2]);c.fillStyle='#666';c.strokeStyle='#666';c.lineWidth=1;c.setLineDash([]);c.font='10px sans-serif';
 for(var v=Math.ceil(E[0]/d)*d;v<=E[1]+1e-9;v+=d){var u=px(P,v);c.beginPath();c.moveTo(u,H-pad);c.lineTo(u,H-pad+4);c.stroke();c.textAlign='center';c.fillText(+v.toFixed(1),u,H-pad+14);}
 for(var w=Math.ceil(E[2]/e)*e;w<=E[3]+1e-9;w+=e){var q=py(P,w);c.beginPath();c.moveTo(P.x-4,q);c.lineTo(P.x,q);c.stroke();c.textAlign='right';c.fillText(+w.toFixed(1),P.x-6,q+3);}
 c.textAlign='left';}
function title(){return spec.title.replace(/\{(\w+)\}/g,function(m,k){return k in state?fmt(k):m;});}
function draw(){var c=canvas.getContext('2d');c.fillStyle='#fff';c.fillRect(0,0,W,H);c.strokeStyle='#ccc';c.lineWidth=1;
 c.strokeRect(Pout.x,pad,Pout.w,H-2*pad);ticks(c,Pout);if(two){c.strokeStyle='#ccc';c.strokeRect(Pin.x,pad,Pin.w,H-2*pad);ticks(c,Pin);dots(c,Pin,init,spec.colors.init,1,0.35);}
 dots(c,Pout,spec.ref,spec.colors.ref,1,0.35);if(pts)dots(c,Pout,pts,spec.colors.x,1.3,0.7);
 if(path){var rest=two?path.slice(1):path;clip(c,Pout);c.strokeStyle=spec.colors.path;c.lineWidth=2;c.beginPath();
  rest.forEach(function(p,i){i?c.lineTo(px(Pout,p[0]),py(Pout,p[1])):c.moveTo(px(Pout,p[0]),py(Pout,p[1]));});c.stroke();
  var a=path[0],b=path[path.length-1];c.fillStyle=spec.colors.path;if(rest.length){c.beginPath();c.arc(px(Pout,b[0]),py(Pout,b[1]),4,0,7);c.fill();}c.restore();
  c.beginPath();c.arc(px(Pin,a[0]),py(Pin,a[1]),7,0,7);c.lineWidth=2;c.stroke();}
 if(heading)heading.textContent=title();}  // in the page, not the canvas: it stays legible on a phone
async function trajectory(){var tr=await run(start.slice(),1,n,true);path=tr.map(function(a){return[a[0],a[1]]});}
function label(t){return t.replace(/\{c(\d+):(\d+)\}/g,function(m,j,d){return pts?pts[+j].toFixed(+d):'';});}
function drawCurves(){var c=canvas.getContext('2d'),K=spec.panels.length,C=spec.columns,w=(W-pad*(K+1))/K;c.fillStyle='#fff';c.fillRect(0,0,W,H);
 spec.panels.forEach(function(pn,j){var P={x:pad+j*(w+pad),w:w,E:pn.extent};c.strokeStyle='#ccc';c.lineWidth=1;c.strokeRect(P.x,pad,P.w,H-2*pad);ticks(c,P);
  c.save();c.beginPath();c.rect(P.x,pad,P.w,H-2*pad);c.clip();
  if(P.E[2]<0&&P.E[3]>0){c.strokeStyle='#222';c.lineWidth=0.6;c.beginPath();c.moveTo(P.x,py(P,0));c.lineTo(P.x+P.w,py(P,0));c.stroke();}
  pn.curves.forEach(function(cv){function trace(){for(var i=0;i<n;i++){var u=px(P,init[2*i]),v=py(P,pts[i*C+cv.col]);i?c.lineTo(u,v):c.moveTo(u,v);}}
   if(cv.fill){c.beginPath();trace();c.lineTo(px(P,init[2*(n-1)]),py(P,0));c.lineTo(px(P,init[0]),py(P,0));c.closePath();c.fillStyle=cv.color;c.globalAlpha=0.25;c.fill();c.globalAlpha=1;}
   c.beginPath();trace();c.strokeStyle=cv.color;c.lineWidth=1.6;c.setLineDash(cv.dash?[6,3]:[]);c.stroke();c.setLineDash([]);});
  c.restore();var y=pad+14;pn.curves.forEach(function(cv){if(!cv.label)return;c.strokeStyle=cv.color;c.lineWidth=1.6;c.setLineDash(cv.dash?[6,3]:[]);
   c.beginPath();c.moveTo(P.x+6,y-4);c.lineTo(P.x+24,y-4);c.stroke();c.setLineDash([]);c.fillStyle='#222';c.font='11px sans-serif';c.fillText(label(cv.label).replace(/\{(\w+)\}/g,function(m,k){return k in state?fmt(k):m;}),P.x+28,y);y+=14;});
  c.fillStyle='#222';c.font='12px sans-serif';c.fillText(label(pn.title).replace(/\{(\w+)\}/g,function(m,k){return k in state?fmt(k):m;}),P.x,pad-10);});}
async function render(full){var t0=performance.now();if(full){pts=await run(init,n,0,false);}var t1=performance.now();
 if(spec.panels){drawCurves();G[root.id].lastMs=t1-t0;status.textContent='computed in your browser in '+(t1-t0).toFixed(0)+' ms';G[root.id].frames++;return;}
 await trajectory();draw();var ms=t1-t0;if(full){G[root.id].lastMs=ms;var k=nsteps()*(spec.per_call||1);status.textContent=n+' points'+(k===1?'':', '+k+' steps')+' computed in your browser in '+ms.toFixed(0)+' ms';}
 G[root.id].frames++;}
function update(full){if(full===undefined)full=true;if(!session)return Promise.resolve();
 if(loop){again=(again===true||full)?true:'path';return loop;}  // the running loop draws this state too
 loop=(async function(){try{await render(full);while(again){var f=again===true;again=false;await render(f);}}
  catch(e){status.textContent='live view failed: '+e.message;throw e;}finally{loop=null;}})();
 return loop;}
function at(ev){var r=canvas.getBoundingClientRect(),u=(ev.clientX-r.left)*W/r.width,v=(ev.clientY-r.top)*H/r.height;
 return[Pin.E[0]+(u-Pin.x)/Pin.w*(Pin.E[1]-Pin.E[0]),Pin.E[2]+(H-pad-v)/(H-2*pad)*(Pin.E[3]-Pin.E[2])];}
var dragging=false;canvas.addEventListener('pointerdown',function(ev){dragging=true;canvas.setPointerCapture(ev.pointerId);start=Float32Array.from(at(ev));update(false);});
canvas.addEventListener('pointermove',function(ev){if(!dragging)return;start=Float32Array.from(at(ev));update(false);});
canvas.addEventListener('pointerup',function(){dragging=false;});
var keys={ArrowLeft:[-1,0],ArrowRight:[1,0],ArrowUp:[0,1],ArrowDown:[0,-1]};
canvas.addEventListener('keydown',function(ev){var d=keys[ev.key];if(!d)return;ev.preventDefault();var E=Pin.E;
 start=Float32Array.of(start[0]+0.03*d[0]*(E[1]-E[0]),start[1]+0.03*d[1]*(E[3]-E[2]));update(false);});
G[root.id]={frames:0,lastMs:null,state:state,get busy(){return loop!==null;},
 step:function(f,rows){var g={};for(var k in f){g[k]=Array.isArray(f[k])?T('float32',Float32Array.from(f[k]),[rows,f[k].length/rows]):scalar(k,f[k]);}
  return call(g).then(function(d){return Array.from(d)});},
 set:function(key,v){state[key]=v;shown[key]();return update();}};
G[root.id].ready=loadOrt().then(function(ort){ort.env.wasm.wasmPaths=base;ort.env.wasm.numThreads=1;ort.env.wasm.proxy=false;
 var b=atob(spec.model),u=new Uint8Array(b.length);for(var i=0;i<b.length;i++)u[i]=b.charCodeAt(i);
 return ort.InferenceSession.create(u,{executionProviders:['wasm']});}).then(function(s){session=s;still.style.display='none';canvas.style.display='';return update();})
 .catch(function(e){status.textContent='live view unavailable ('+e.message+'): the picture above is one setting';});
})();
"""
